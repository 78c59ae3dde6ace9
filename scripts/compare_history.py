"""Compare the ``history`` baseline's encoder settings with ``dr`` at one budget, by measurement.

For every spec and seed, ``dr`` and each ``history`` variant are trained with the same
algorithm, budget and seed (the family's shipped hyperparameters), then evaluated as the
benchmark evaluates them: context withheld, deterministic actions, ``--episodes`` episodes
per task from reset seed ``--eval-seed + i``, on ``--splits`` (default: every held-out
split). The ``history`` variants differ only in two policy options:

- ``history-before``: one features extractor shared by actor and critic (SB3's PPO default)
  and ``z`` the history encoder's raw linear output, as ``history`` shipped before;
- ``history-shared``: the shared extractor only; ``history-unbounded``: the raw ``z`` only;
- ``history``: the shipped method (actor and critic each with its own history encoder, ``z``
  squashed into ``[-1, 1]`` by a tanh).

The script prints the budget, the seeds and a markdown table of mean return per split
(mean ± standard deviation over seeds), with the per-seed means beside it.

Usage::

    python scripts/compare_history.py                                    # Acrobot, MountainCarContinuous
    python scripts/compare_history.py --envs mtml/Acrobot-v0 --seeds 0 --timesteps 5000 --episodes 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.lifetime import script_exit_status, worker_pool

BEFORE = {"share_features_extractor": True, "features_extractor_kwargs": {"history_tanh": False}}
"""The ``history`` method's policy options before the fix."""
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dr": ("dr", {}),
    "history-before": ("history", {"policy_kwargs": BEFORE}),
    "history-shared": ("history", {"policy_kwargs": {"share_features_extractor": True}}),
    "history-unbounded": (
        "history",
        {"policy_kwargs": {"features_extractor_kwargs": {"history_tanh": False}}},
    ),
    "history": ("history", {}),
}
"""Variant -> (method, hyperparameter overrides)."""
SPLITS = ("test-interpolation", "test-extrapolation", "test-combinatorial")
"""The default splits evaluated (``train`` may be added with ``--splits``)."""


@dataclass(frozen=True)
class Job:
    """One (spec, variant, seed) run.

    :param env: the spec id
    :param variant: a key of :data:`VARIANTS`
    :param seed: the training seed
    :param timesteps: training steps
    :param episodes: evaluation episodes per task
    :param eval_seed: reset seed of task 0's evaluation episodes
    :param root: folder of the runs
    :param splits: the splits evaluated
    """

    env: str
    variant: str
    seed: int
    timesteps: int
    episodes: int
    eval_seed: int
    root: str
    splits: tuple[str, ...] = SPLITS


@dataclass
class Result:
    """Mean return per split of one run.

    :param job: the run's job
    :param returns: split -> mean return over its tasks and episodes
    """

    job: Job
    returns: dict[str, float] = field(default_factory=dict)


def run_job(job: Job) -> Result:
    """Train one run and evaluate it on every split."""
    import torch as th

    from mtml_rl.training import TrainConfig, train

    th.set_num_threads(1)
    method, overrides = VARIANTS[job.variant]
    name = f"{job.env.split('/')[-1]}-{job.variant}-s{job.seed}"
    config = TrainConfig(
        env=job.env,
        method=method,
        timesteps=job.timesteps,
        seed=job.seed,
        hyperparams=overrides,
        eval_freq=0,
        save_freq=0,
        num_threads=1,
        out=str(Path(job.root) / name),
    )
    run = train(config, force=True, progress=False)
    result = Result(job)
    for split in job.splits:
        records = run.evaluate(split, episodes=job.episodes, seed=job.eval_seed)
        result.returns[split] = float(np.mean([r.ret for r in records]))
    print(f"done {name}: " + ", ".join(f"{s} {v:.1f}" for s, v in result.returns.items()), flush=True)
    return result


def table(results: Sequence[Result]) -> str:
    """Markdown: mean ± std over seeds of the mean return, per spec, variant and split."""
    splits = results[0].job.splits
    lines = ["| spec | variant | " + " | ".join(s.removeprefix("test-") for s in splits) + " |"]
    lines.append("|---|---|" + "---|" * len(splits))
    for env, variant in dict.fromkeys((r.job.env, r.job.variant) for r in results):
        rows = sorted(
            (r for r in results if (r.job.env, r.job.variant) == (env, variant)), key=lambda r: r.job.seed
        )
        cells = []
        for split in splits:
            values = np.array([r.returns[split] for r in rows])
            per_seed = " / ".join(f"{v:.0f}" for v in values)
            cells.append(f"{values.mean():.1f} ± {values.std():.1f} ({per_seed})")
        lines.append(f"| {env.split('/')[-1]} | {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["mtml/Acrobot-v0", "mtml/MountainCarContinuous-v0"])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["dr", "history-before", "history"],
        choices=list(VARIANTS),
    )
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=50_000, help="training steps of every run")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes per task")
    parser.add_argument("--eval-seed", type=int, default=100, help="reset seed of task 0")
    parser.add_argument("--workers", type=int, default=1, help="processes (one torch thread each)")
    parser.add_argument("--out", default=None, help="folder of the runs (default: a temporary one)")
    return parse_arguments(parser, argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, evaluate and print the table."""
    args = parse_args(argv)
    root = args.out or tempfile.mkdtemp(prefix="compare-history-")
    jobs = [
        Job(env, variant, seed, args.timesteps, args.episodes, args.eval_seed, root, tuple(args.splits))
        for env in args.envs
        for variant in args.variants
        for seed in args.seeds
    ]
    print(f"{args.timesteps:,} steps, seeds {args.seeds}, {args.episodes} episodes per task; runs in {root}")
    with worker_pool(args.workers) as pool:
        results = list(pool.map(run_job, jobs))
    print(table(results))


if __name__ == "__main__":
    sys.exit(script_exit_status("compare_history.py", main))
