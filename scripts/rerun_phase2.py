"""Rerun phase 2 of finished ``adapt`` runs with other shares of mean-action slots and
measure every module the same way, the run's own included.

Phase 2's rollouts act with the policy's mean action in a share of their slots
(``Phase2Config.mean_action_share``, default 0.5) and sample actions with fresh exploration
noise in the others (``mtml_rl.adaptation.phase2.act``). For each run, this script keeps the
trained phase-1 policy, trains a new module with each share in ``--shares`` (the run's own
config otherwise: rounds, slots, seed, and budget unless ``--adapt-timesteps`` is given) and
measures it next to the module the run saved ("as trained"):

- the latent error ``|ẑ − z|`` on the train split and on every held-out split, against that
  of the mean latent (one deterministic episode on each of the first ``eval_tasks`` tasks of a
  split, as ``final/adaptation.json`` records it);
- the deployed agent's mean return (context withheld, deterministic actions, one episode on
  each of the first ``--tasks`` tasks of each held-out split from reset seed
  ``--eval-seed + i``).

The run folders are only read. The script prints one markdown row per run and module.

Usage::

    python scripts/reproduce.py --config benchmarks/reproduce-small.yaml \\
        --envs mtml/MountainCarContinuous-v0 --methods adapt --out runs/mcc
    python scripts/rerun_phase2.py runs/mcc/runs/MountainCarContinuous-adapt-s* --shares 0 0.5 1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch as th

from mtml_rl.adaptation.module import AdaptationModule
from mtml_rl.adaptation.orchestration import phase2_config
from mtml_rl.adaptation.phase2 import splits_latent_errors, train_adaptation
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.evaluation.collect import play
from mtml_rl.evaluation.plan import default_splits
from mtml_rl.lifetime import script_exit_status
from mtml_rl.specs.splits import TEST_SPLITS, build_splits
from mtml_rl.training import Run
from mtml_rl.training.run import EVAL_SEED

HELD_OUT = TEST_SPLITS
"""The held-out splits whose returns are measured (a column each; "–" where a spec has none)."""


def rerun(
    run: Run, share: float, timesteps: int | None = None, epochs: int | None = None
) -> AdaptationModule:
    """A new module trained by the run's phase 2 with ``share`` of its slots on mean actions
    (and ``timesteps`` phase-2 steps and ``epochs`` regression epochs per round, if given,
    instead of the run's)."""
    n_envs = int(run.model.n_envs)
    config = dataclasses.replace(phase2_config(run, n_envs), mean_action_share=share)
    if timesteps is not None:
        config = dataclasses.replace(config, timesteps=timesteps)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    return train_adaptation(run.model, run.normalizer, run.spec, config, lambda step, metrics: None)


def measure(run: Run, module: AdaptationModule, tasks: int, eval_seed: int) -> list[str]:
    """The module's latent errors (train and held-out splits) and deployed mean returns, as
    markdown cells."""
    splits = build_splits(run.spec)
    limit = run.config.eval_tasks or None
    chosen = {name: list(splits[name].tasks[:limit]) for name in default_splits(run.spec)}
    errors = splits_latent_errors(
        run.model, run.normalizer, module, run.spec, chosen, run.config.history_len, EVAL_SEED
    )
    cells = [f"{errors['train'].module:.3f} ({errors['train'].mean_latent:.3f})"]
    agent = AdaptAgent(run, module)
    for name in HELD_OUT:
        if name not in chosen:
            cells.append("–")
            continue
        played = play(
            agent,
            run.spec,
            list(splits[name].tasks[:tasks]),
            episodes=1,
            trial_episodes=run.trial_episodes,
            seed=eval_seed,
        )
        mean_return = float(np.mean([p.ret for p in played]))
        cells.append(f"{mean_return:.1f}; {errors[name].module:.3f} ({errors[name].mean_latent:.3f})")
    return cells


def header() -> str:
    """The table's header."""
    columns = ["run", "module", "train: latent error (mean latent)"]
    columns += [f"{name[5:]}: return; latent error (mean latent)" for name in HELD_OUT]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def report(name: str, run: Run, label: str, module: AdaptationModule, args: argparse.Namespace) -> None:
    """Measure one module and print its row."""
    cells = measure(run, module, args.tasks, args.eval_seed)
    print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="finished adapt run folders")
    parser.add_argument(
        "--shares", nargs="+", type=float, default=[0.0, 0.5, 1.0], help="mean_action_share values"
    )
    parser.add_argument(
        "--tasks", type=int, default=16, help="tasks of each held-out split played (default: 16)"
    )
    parser.add_argument(
        "--eval-seed", type=int, default=100, help="reset seed of the first task (default: 100)"
    )
    parser.add_argument(
        "--adapt-timesteps", type=int, default=None, help="phase-2 steps of the reruns (default: the run's)"
    )
    parser.add_argument(
        "--adapt-epochs", type=int, default=None, help="regression epochs per round (default: the run's)"
    )
    args = parse_arguments(parser, argv)
    th.set_num_threads(1)  # as the runs trained; two threads on a busy 2-core machine spin
    print(header(), flush=True)
    for path in args.runs:
        run = Run.load(path)
        report(path.name, run, "as trained", AdaptAgent(run).module, args)
        for share in args.shares:
            label = f"share {share:g}"
            label += "" if args.adapt_timesteps is None else f", {args.adapt_timesteps:,} steps"
            label += "" if args.adapt_epochs is None else f", {args.adapt_epochs} epochs"
            module = rerun(run, share, args.adapt_timesteps, args.adapt_epochs)
            report(path.name, run, label, module, args)


if __name__ == "__main__":
    sys.exit(script_exit_status("rerun_phase2.py", main))
