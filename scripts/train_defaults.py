"""Train every classic-control family with its shipped default hyperparameters and budget.

For each family this trains ``oracle`` and ``dr`` with the family's default algorithm
(the budget, ``n_envs`` and every other setting come from ``mtml_rl/hyperparams/<algo>.yaml``),
then evaluates the final model with :meth:`Run.evaluate`: one episode per task, fixed
reset seeds, deterministic actions, on the train split and the test-interpolation split.
It prints the table quoted in ``docs/training.md`` and writes it to ``<out>/defaults.json``.

The hyperparameters were chosen by train-split returns only; the test split is reported,
never tuned on.

Usage::

    python scripts/train_defaults.py                      # every family, seed 0 (about 20 min on 2 cores)
    python scripts/train_defaults.py --families cartpole --methods oracle --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import script_exit_status, worker_pool

FAMILIES = {
    "cartpole": ("mtml/CartPole-v0", "ppo"),
    "pendulum": ("mtml/Pendulum-v0", "sac"),
    "mountaincar": ("mtml/MountainCarContinuous-v0", "ppo"),
    "acrobot": ("mtml/Acrobot-v0", "ppo"),
    "pointnav": ("mtml/PointNav-v0", "ppo"),
}
"""Family -> (env id, default algorithm)."""
SPLITS = ("train", "test-interpolation")
METHODS = ("oracle", "dr", "history", "adapt", "random")
"""``random`` is no training: uniformly random actions, evaluated the same way."""


@dataclass(frozen=True)
class Result:
    """Mean returns of one trained run."""

    family: str
    env: str
    algo: str
    method: str
    seed: int
    timesteps: int
    n_envs: int
    returns: dict[str, float]
    minutes: float
    cpu_minutes: float


def train_one(family: str, method: str, seed: int, out: Path) -> Result:
    """Train one (family, method, seed) at the default budget and evaluate it."""
    import numpy as np

    from mtml_rl.training import TrainConfig, train

    env, algo = FAMILIES[family]
    if method == "random":
        return random_result(family, seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    config = TrainConfig(
        env=env, method=method, algo=algo, seed=seed, out=str(out / f"{family}-{method}-s{seed}")
    )
    run = train(config, force=True, progress=False)
    returns = {split: float(np.mean([r.ret for r in run.evaluate(split)])) for split in SPLITS}
    minutes = (time.perf_counter() - start) / 60
    cpu_minutes = (time.process_time() - cpu_start) / 60
    steps = int(run.model.num_timesteps)
    return Result(family, env, algo, method, seed, steps, run.model.n_envs, returns, minutes, cpu_minutes)


def random_result(family: str, seed: int) -> Result:
    """Uniformly random actions (seeded), evaluated like a trained run: the floor of the table."""
    import numpy as np

    from mtml_rl.rollouts import rollout_tasks
    from mtml_rl.specs.spec import resolve_spec
    from mtml_rl.specs.splits import build_splits
    from mtml_rl.training.run import EVAL_SEED

    env, _ = FAMILIES[family]
    spec = resolve_spec(env)
    action_space = spec.family_cls().action_space()
    action_space.seed(seed)

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.stack([action_space.sample() for _ in range(len(obs))])

    splits = build_splits(spec)
    returns = {
        split: float(
            np.mean([r.ret for r in rollout_tasks(policy, spec, list(splits[split].tasks), seed=EVAL_SEED)])
        )
        for split in SPLITS
    }
    return Result(family, env, "-", "random", seed, 0, 0, returns, 0.0, 0.0)


def print_table(results: list[Result]) -> None:
    """A rich table: one row per (family, method), mean over seeds."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Default budgets: mean return per task (1 episode each, deterministic)")
    for column in ("family", "algo", "budget (steps)", "method", "seeds", *SPLITS, "minutes", "CPU minutes"):
        table.add_column(column, justify="left" if column in ("family", "algo", "method") else "right")
    keys = sorted(
        {(r.family, r.method) for r in results},
        key=lambda k: (list(FAMILIES).index(k[0]), METHODS.index(k[1])),
    )
    for family, method in keys:
        runs = [r for r in results if r.family == family and r.method == method]
        table.add_row(
            family,
            runs[0].algo,
            f"{runs[0].timesteps:,} ({runs[0].n_envs} envs)" if runs[0].timesteps else "-",
            method,
            ",".join(str(r.seed) for r in runs),
            *[f"{np.mean([r.returns[s] for r in runs]):.1f}" for s in SPLITS],
            f"{np.mean([r.minutes for r in runs]):.1f}",
            f"{np.mean([r.cpu_minutes for r in runs]):.1f}",
        )
    Console(width=140).print(table)
    print("minutes: wall clock per run, training and evaluation; CPU minutes: the run's own CPU time")
    print("(one torch thread), which other load on a shared machine does not inflate.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=["oracle", "dr", "random"])
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=Path("runs/defaults"), help="parent folder of the runs")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs trained in parallel (one torch thread each)"
    )
    args = parse_arguments(parser, argv)
    jobs = [(f, m, s) for f in args.families for m in args.methods for s in args.seeds]
    print(
        f"{len(jobs)} runs: families {args.families}, methods {args.methods}, seeds {args.seeds}", flush=True
    )
    results: list[Result] = []
    with worker_pool(args.jobs) as pool:
        futures = [pool.submit(train_one, f, m, s, args.out) for f, m, s in jobs]
        for future in futures:
            result = future.result()
            results.append(result)
            shown = ", ".join(f"{k} {v:.1f}" for k, v in result.returns.items())
            what = (
                f"{result.family} {result.method} s{result.seed} ({result.algo}, {result.timesteps:,} steps"
            )
            print(f"{what}, {result.minutes:.1f} min, {result.cpu_minutes:.1f} CPU min): {shown}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "defaults.json", json.dumps([asdict(r) for r in results], indent=2) + "\n")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("train_defaults.py", main))
