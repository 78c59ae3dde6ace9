"""Diagnose a finished ``adapt`` run: how much return its adaptation module loses, and when.

On fresh tasks drawn from the spec's train region with a seed of its own (a validation draw:
never a test split, so that phase-2 variants can be chosen on it), the run's phase-1 policy
plays one deterministic episode per task three ways:

- ``true z``: with ``z = EnvEncoder(true context)``, as in phase 1 (the module's upper bound);
- ``ẑ``: with ``ẑ = AdaptationModule(history)``, as deployed (the context withheld);
- ``mean z``: with the mean latent of phase 2's data, the best constant guess.

For ``ẑ`` it also prints the latent error ``|ẑ − z|`` at chosen steps of the episode (does
inference converge, and how fast?) next to the mean latent's. ``--sampled K`` adds rows with
the policy's actions sampled (not its mean action) for the first ``K`` steps of each episode:
does the module infer better from what other behaviour shows it? With ``--variants`` it reruns
phase 2 from the same frozen policy with other settings (``name=key:value,key:value``, keys of
``Phase2Config``; ``none`` for ``None``) and measures each new module the same way. The run
folders are only read.

``--split NAME`` plays the first ``--tasks`` tasks of a split of the run's own spec instead of
a validation draw. It is meant for a spec that is a validation carve-out of another spec's
train range (``benchmarks/specs/HalfCheetahVelValidationWide.yaml``: its held-out split lies
inside HalfCheetahVel's train range), where choices about extrapolation are made; choosing
anything on a test split of a spec whose results are reported would be tuning on it.

Usage::

    python scripts/diagnose_adapt.py runs/PointNav-adapt-s0 --sampled 10 100
    python scripts/diagnose_adapt.py runs/PointNav-adapt-s0 --variants ep16=epochs:16 ep32=epochs:32
    python scripts/diagnose_adapt.py runs/HalfCheetahVelValidationWide-adapt-s0 \
        --split test-extrapolation --probe 10 20 30 40
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from mtml_rl.adaptation.module import AdaptationModule, acting_extractor, acting_with
from mtml_rl.adaptation.orchestration import phase2_config
from mtml_rl.adaptation.phase2 import Phase2Config, train_adaptation
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.lifetime import script_exit_status
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits, validation_tasks
from mtml_rl.tasks.task import Task
from mtml_rl.training import Run

STEPS = (0, 4, 8, 16, 32, 64, 128, 256, 499)
"""Steps of the episode at which the latent error is printed (those inside the horizon)."""


class ConstantLatent(AdaptationModule):
    """Predicts its mean latent whatever the history (the best constant guess)."""

    def forward(self, history: th.Tensor) -> th.Tensor:
        """``(B, H * D)`` -> the mean latent, ``B`` times."""
        return self.mean_latent.expand(history.shape[0], -1)


def constant_like(module: AdaptationModule) -> ConstantLatent:
    """A :class:`ConstantLatent` with ``module``'s mean latent."""
    hparams: dict[str, Any] = dict(module.hparams)  # the module's own constructor arguments
    constant = ConstantLatent(**hparams)
    constant.mean_latent.copy_(module.mean_latent)
    return constant


def play(
    run: Run,
    spec: TaskSpec,
    tasks: Sequence[Task],
    seed: int,
    module: AdaptationModule | None,
    sampled_steps: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One episode per task acting with ``module``'s ``ẑ`` (``None``: the true ``z``), with
    actions sampled from the policy for the first ``sampled_steps`` steps and its mean action
    after them; returns each task's return and the per-step latent errors ``(T, N)`` of
    ``module`` (zeros for ``None``) and of the mean latent."""
    th.manual_seed(seed)
    history_len = run.config.history_len
    venv = make_task_vector_env(
        spec, num_envs=len(tasks), tasks=list(tasks), context="privileged", history_len=history_len
    )
    obs, _ = venv.reset(seed=[seed + i for i in range(len(tasks))])
    model, normalizer = run.model, run.normalizer
    encoder = acting_extractor(model.policy).env_encoder
    assert encoder is not None
    reference = module if module is not None else own_module(run)
    returns = np.zeros(len(tasks))
    alive = np.ones(len(tasks), dtype=bool)
    errors, mean_errors = [], []
    for step in range(venv.max_episode_steps):
        deterministic = step >= sampled_steps
        normalized = normalizer.normalize_obs(obs) if normalizer is not None else obs
        with th.no_grad():
            z = encoder(th.as_tensor(normalized["context"], dtype=th.float32))
            z_hat = reference(th.as_tensor(normalized["history"], dtype=th.float32))
        errors.append((z_hat - z).abs().mean(dim=1).numpy() if module is not None else np.zeros(len(tasks)))
        mean_errors.append((reference.mean_latent - z).abs().mean(dim=1).numpy())
        if module is None:
            actions, _ = model.predict(normalized, deterministic=deterministic)
        else:
            with acting_with(model.policy, module):
                actions, _ = model.predict(normalized, deterministic=deterministic)
        obs, rewards, terminated, truncated, _ = venv.step(actions)
        returns += np.where(alive, rewards, 0.0)
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    venv.close()
    return returns, np.array(errors), np.array(mean_errors)


def own_module(run: Run) -> AdaptationModule:
    """The run's own adaptation module."""
    return AdaptAgent(run).module


def rerun(run: Run, overrides: dict[str, Any]) -> AdaptationModule:
    """Phase 2 of ``run`` again, from its frozen policy, with ``overrides`` of its config."""
    config = dataclasses.replace(phase2_config(run, int(run.model.n_envs)), **overrides)
    return train_adaptation(run.model, run.normalizer, run.spec, config, lambda step, metrics: None)


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name=key:value,key:value`` -> ``(name, {key: value})`` (values parsed as numbers
    where they are numbers)."""
    name, _, rest = text.partition("=")
    fields = {f.name: f.type for f in dataclasses.fields(Phase2Config)}
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition(":")
        if key not in fields:
            raise SystemExit(f"unknown phase-2 setting {key!r} in {text!r}; choose from {', '.join(fields)}")
        overrides[key] = _number(value)
    return name, overrides


def _number(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return None if value == "none" else value


def horizon_steps(horizon: int) -> list[int]:
    """The steps of :data:`STEPS` inside an episode of ``horizon`` steps."""
    return [s for s in STEPS if s < horizon]


def row(
    label: str, horizon: int, returns: np.ndarray, errors: np.ndarray | None, mean_errors: np.ndarray
) -> str:
    """One markdown row: mean return [min, max], and the latent error at :data:`STEPS` (a dash
    where every episode had ended)."""
    cells = [label, f"{returns.mean():.1f} [{returns.min():.1f}, {returns.max():.1f}]"]
    if errors is None:
        cells += ["–"] * (len(horizon_steps(horizon)) + 1)
    else:
        cells.append(f"{errors.mean():.3f} ({mean_errors.mean():.3f})")
        cells += [f"{errors[s].mean():.3f}" if s < len(errors) else "–" for s in horizon_steps(horizon)]
    return "| " + " | ".join(cells) + " |"


def probe_returns(
    run: Run, tasks: Sequence[Task], seed: int, module: AdaptationModule, steps: int
) -> np.ndarray:
    """The returns of one episode per task when the deployed agent probes for ``steps``
    steps, then commits (``AdaptAgent(probe_steps=steps)``: what ``adapt_probe_steps``
    deploys)."""
    played = rollout_agent(AdaptAgent(run, module, probe_steps=steps), run.spec, tasks, trials=1, seed=seed)
    return np.array([record.ret for record in played])


def measure(
    run: Run,
    tasks: Sequence[Task],
    seed: int,
    label: str,
    module: AdaptationModule,
    sampled: Sequence[int],
    probes: Sequence[int] = (),
) -> list[str]:
    """The rows of one module: acting with its mean action, with sampled actions for the
    first steps of each episode (each of ``sampled``), and deployed probing then committing
    (each of ``probes``; returns only)."""
    horizon = run.spec.max_episode_steps
    rows = [row(label, horizon, *play(run, run.spec, tasks, seed, module))]
    for steps in sampled:
        played = play(run, run.spec, tasks, seed, module, steps)
        rows.append(row(f"{label}, sampled for {steps} steps", horizon, *played))
    for steps in probes:
        returns = probe_returns(run, tasks, seed, module, steps)
        rows.append(row(f"{label}, probe {steps} steps, then commit", horizon, returns, None, np.zeros(1)))
    return rows


def chosen_tasks(spec: TaskSpec, split: str | None, count: int, draw_seed: int) -> tuple[list[Task], str]:
    """The tasks to play and what they are: ``count`` drawn from the train region with
    ``draw_seed``, or the first ``count`` of ``split`` (a :class:`SystemExit` naming the spec's
    splits if it has no such split)."""
    if split is None:
        return list(validation_tasks(spec, count, draw_seed)), f"train-region tasks (draw seed {draw_seed})"
    splits = build_splits(spec)
    if split not in splits:
        raise SystemExit(f"{spec.name} has no split {split!r}; choose one of {', '.join(splits)}")
    return list(splits[split].tasks[:count]), f"tasks of its split {split}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="finished adapt run folders")
    parser.add_argument("--tasks", type=int, default=32, help="validation tasks (default: 32)")
    parser.add_argument(
        "--draw-seed", type=int, default=1000, help="seed of the validation draw (default: 1000)"
    )
    parser.add_argument(
        "--split",
        default=None,
        help="play this split's first --tasks tasks instead of a validation draw (for a validation "
        "carve-out's held-out split; see above)",
    )
    parser.add_argument("--eval-seed", type=int, default=100, help="reset seed of the first task")
    parser.add_argument(
        "--probe",
        nargs="*",
        type=int,
        default=[],
        help="also deploy probing for this many steps, then committing (adapt_probe_steps)",
    )
    parser.add_argument("--variants", nargs="*", default=[], help="name=key:value,... phase-2 reruns")
    parser.add_argument("--no-baselines", action="store_true", help="skip the true-z and mean-z rows")
    parser.add_argument(
        "--sampled",
        nargs="*",
        type=int,
        default=[],
        help="also play with actions sampled for the first this many steps of each episode",
    )
    args = parse_arguments(parser, argv)
    th.set_num_threads(1)  # as the runs trained; two threads on a busy 2-core machine spin
    variants = [parse_variant(text) for text in args.variants]
    for path in args.runs:
        run = Run.load(path)
        tasks, where = chosen_tasks(run.spec, args.split, args.tasks, args.draw_seed)
        horizon = run.spec.max_episode_steps
        steps = horizon_steps(horizon)
        print(f"\n{path.name}: {len(tasks)} {where}")
        print(
            "| module | return mean [min, max] | latent error (mean latent) | "
            + " | ".join(f"t={s}" for s in steps)
            + " |"
        )
        print("|---" * (3 + len(steps)) + "|")
        own = own_module(run)
        if not args.no_baselines:
            returns, _, mean_errors = play(run, run.spec, tasks, args.eval_seed, None)
            print(row("true z", horizon, returns, None, mean_errors), flush=True)
            for steps in args.sampled:
                returns, _, mean_errors = play(run, run.spec, tasks, args.eval_seed, None, steps)
                print(
                    row(f"true z, sampled for {steps} steps", horizon, returns, None, mean_errors), flush=True
                )
            returns, _, mean_errors = play(run, run.spec, tasks, args.eval_seed, constant_like(own))
            print(row("mean z", horizon, returns, None, mean_errors), flush=True)
        for line in measure(run, tasks, args.eval_seed, "ẑ (as trained)", own, args.sampled, args.probe):
            print(line, flush=True)
        for name, overrides in variants:
            start = time.perf_counter()
            module = rerun(run, overrides)
            seconds = time.perf_counter() - start
            label = f"ẑ {name} ({seconds:.0f} s)"
            for line in measure(run, tasks, args.eval_seed, label, module, args.sampled, args.probe):
                print(line, flush=True)


if __name__ == "__main__":
    sys.exit(script_exit_status("diagnose_adapt.py", main))
