"""Phase 2 of ``adapt`` against PPO on the same family: throughput, latent error, held-out return.

Trains the quickstart's ``adapt`` run (``mtml/CartPole-v0``, the quickstart's pinned PPO
hyperparameters of its ``default`` profile, seed 0) unless ``--run`` names a trained
``adapt`` run, then, in one process with one torch thread:

- times PPO (``model.learn`` of the run's phase-1 model, built as training builds it) for
  ``--ppo-steps`` steps: environment steps per CPU-second;
- runs phase 2 on the run's frozen policy in two settings for every history encoder of
  ``--archs``: ``before`` (the training env's 8 slots, minibatches of 256 at Adam's 1e-3 and
  4 full passes over the aggregated data every round, every slot sampling its actions, as
  phase 2 ran before) and ``now``
  (the defaults of :class:`~mtml_rl.adaptation.phase2.Phase2Config`, with
  :func:`~mtml_rl.adaptation.phase2.phase2_slots` slots), each with ``--phase2-steps`` steps;
- reports each phase 2's steps per CPU-second and its ratio to PPO's, the module's latent
  error on every split (one deterministic episode per task, acting with its estimate, as
  training records it) and the deployed agent's mean return over ``--episodes`` episodes
  of every task of the held-out splits.

Usage::

    python scripts/bench_phase2.py
    python scripts/bench_phase2.py --run runs/adapt --archs mlp conv
    python scripts/bench_phase2.py --archs conv conv:32 conv:16     # the convolution's widths
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from mtml_rl.adaptation.orchestration import phase2_config
from mtml_rl.adaptation.phase2 import split_latent_error, train_adaptation
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.benchmark.quickstart import DEFAULT_TIMESTEPS, ENV, HISTORY_ARCH, PPO
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.lifetime import script_exit_status
from mtml_rl.policies.history import encoder_name, parse_encoder
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig, train
from mtml_rl.training.builders import build_env, build_model, resolve_algo
from mtml_rl.training.monitor import silence_logger

SPLITS = ("train", "test-interpolation", "test-extrapolation")
BEFORE = {
    "n_envs": 8,
    "batch_size": 256,
    "learning_rate": 1e-3,
    "replay": None,
    "epochs": 4,
    "mean_action_share": 0.0,
}
"""Phase 2's settings before it was batched (every slot sampling its actions, as phase 2 did
then; for a policy without gSDE, such as CartPole's, the same rollouts)."""
EVAL_SEED = 100


def train_run(root: Path) -> Run:
    """The quickstart's ``adapt`` run (seed 0)."""
    config = TrainConfig(
        env=ENV,
        method="adapt",
        timesteps=DEFAULT_TIMESTEPS,
        seed=0,
        hyperparams=dict(PPO),
        history_arch=HISTORY_ARCH,
        adapt_timesteps=DEFAULT_TIMESTEPS // 3,
        eval_freq=0,
        save_freq=0,
        out=str(root / "adapt"),
    )
    return train(config, force=True, progress=False)


def ppo_steps_per_cpu_second(run: Run, steps: int) -> float:
    """PPO on the run's family with its config: a fresh phase-1 model's ``learn``, timed."""
    config = run.config
    algo, hp = resolve_algo(config, run.spec)
    model = build_model(config, algo, hp, build_env(config, run.spec, hp, hp.n_envs))
    silence_logger(model)
    cpu = time.process_time()
    model.learn(total_timesteps=steps, progress_bar=False)
    return model.num_timesteps / (time.process_time() - cpu)


def phase2(run: Run, encoder: str, settings: dict[str, Any], steps: int, episodes: int) -> dict[str, Any]:
    """One phase 2 on the run's frozen policy with ``encoder`` (``ARCH`` or ``ARCH:WIDTH``):
    throughput, latent errors, held-out returns."""
    _, hp = resolve_algo(run.config, run.spec)
    arch, width = parse_encoder(encoder)
    cfg = dataclasses.replace(
        phase2_config(run, hp.n_envs), arch=arch, hidden=width, timesteps=steps, **settings
    )
    cpu = time.process_time()
    module = train_adaptation(run.model, run.normalizer, run.spec, cfg, lambda step, metrics: None)
    out: dict[str, Any] = {"steps/CPU-s": steps / (time.process_time() - cpu), "slots": cfg.n_envs}
    splits = build_splits(run.spec)
    for name in SPLITS:
        tasks = list(splits[name].tasks)
        errors = split_latent_error(
            run.model, run.normalizer, module, run.spec, tasks, cfg.history_len, EVAL_SEED
        )
        out[f"latent {name}"] = errors.module
        if name != "train":
            played = rollout_agent(AdaptAgent(run, module), run.spec, tasks, trials=episodes, seed=EVAL_SEED)
            out[f"return {name}"] = float(np.mean([e.ret for e in played]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, help="a trained adapt run (default: train the quickstart's)")
    parser.add_argument(
        "--archs",
        nargs="+",
        type=encoder_name,
        default=["mlp", "conv"],
        metavar="ARCH[:WIDTH]",
        help="history encoders, each at its default width unless given (conv:32)",
    )
    parser.add_argument("--phase2-steps", type=positive_int, default=20_000, help="phase-2 environment steps")
    parser.add_argument("--ppo-steps", type=positive_int, default=16_384, help="PPO steps timed")
    parser.add_argument(
        "--episodes", type=positive_int, default=3, help="evaluation episodes per held-out task"
    )
    args = parse_arguments(parser, argv)
    th.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run.load(args.run) if args.run else train_run(Path(tmp))
        ppo = ppo_steps_per_cpu_second(run, args.ppo_steps)
        print(f"PPO ({run.spec.id}): {ppo:,.0f} steps/CPU-s", flush=True)
        rows = []
        for arch in args.archs:
            for mode, settings in (("before", BEFORE), ("now", {})):
                result = phase2(run, arch, settings, args.phase2_steps, args.episodes)
                rows.append((arch, mode, result))
                print(f"phase 2 {arch} {mode}: {result}", flush=True)
    header = f"{'encoder':8s} {'mode':7s} {'slots':>5s} {'steps/CPU-s':>11s} {'x PPO':>6s}"
    header += "".join(f" {'latent ' + s[5:] if s != 'train' else 'latent train':>19s}" for s in SPLITS)
    header += "".join(f" {'return ' + s[5:]:>20s}" for s in SPLITS[1:])
    print(f"\nphase 2: {args.phase2_steps:,} steps; PPO: {ppo:,.0f} steps/CPU-s\n{header}")
    for arch, mode, r in rows:
        line = f"{arch:8s} {mode:7s} {r['slots']:5d} {r['steps/CPU-s']:11,.0f} {r['steps/CPU-s'] / ppo:6.2f}"
        line += "".join(f" {r['latent ' + s]:19.4f}" for s in SPLITS)
        line += "".join(f" {r['return ' + s]:20.1f}" for s in SPLITS[1:])
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_phase2.py", main))
