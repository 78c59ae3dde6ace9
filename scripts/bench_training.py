"""PPO training throughput: plain SB3 on CartPole-v1 against mtml-rl's CartPole family.

Every case trains PPO with the same hyperparameters (the shipped CartPole defaults,
``mtml_rl/hyperparams/ppo.yaml``) for a fixed budget, in a fresh subprocess, with one
torch thread and no callbacks. Only ``model.learn`` is timed (model and env construction
are excluded). The mtml-rl cases are built through :mod:`mtml_rl.training.builders`, so
the real path is measured: the batched multi-task vector env, the SB3 adapter, the
episode monitor and the meta-policy's features extractor.

Cases run interleaved (one round = every case once) and the table shows the median over
rounds, so that load from other processes on the machine spreads over all cases alike.

Usage::

    python scripts/bench_training.py                   # 20k steps, 5 rounds
    python scripts/bench_training.py --timesteps 40000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

CASES = ("sb3", "dr", "oracle", "history", "dr-same-depth")
"""``sb3`` is plain SB3 on Gymnasium's CartPole-v1; the others are mtml-rl methods on mtml/CartPole-v0.
``dr-same-depth`` is ``dr`` with ``net_arch=[64]`` after the 64-unit observation encoder, so that
its network has plain SB3's depth and width: it isolates the cost of the environment stack."""
GOALS = {"dr": 0.95, "oracle": 0.9, "history": 0.7}
"""Throughput goals as fractions of plain SB3."""
N_ENVS = 8
SEED = 0


@dataclass(frozen=True)
class Measurement:
    """One timed training run."""

    case: str
    steps: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float

    @property
    def steps_per_second(self) -> float:
        """Wall-clock throughput."""
        return self.steps / self.seconds

    @property
    def steps_per_cpu_second(self) -> float:
        """Throughput per second of this process's CPU time (less sensitive to other load)."""
        return self.steps / self.cpu_seconds


def ppo_kwargs() -> dict[str, Any]:
    """The shipped PPO defaults for CartPole (without mtml-rl's own keys)."""
    from mtml_rl.training.algorithms import get_algo
    from mtml_rl.training.hyperparams import resolve_hyperparams

    return resolve_hyperparams(get_algo("ppo"), "cartpole", {}, None).algo_kwargs


def build_sb3() -> Any:
    """Plain SB3: ``make_vec_env("CartPole-v1")`` (a DummyVecEnv) and an MlpPolicy."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=N_ENVS, seed=SEED)
    return PPO("MlpPolicy", env, seed=SEED, device="cpu", verbose=0, **ppo_kwargs())


def build_mtml(case: str) -> Any:
    """mtml-rl's training path for a case on mtml/CartPole-v0 (no callbacks)."""
    from mtml_rl.tasks.spec import resolve_spec
    from mtml_rl.training import TrainConfig
    from mtml_rl.training.builders import build_env, build_model, resolve_algo

    method, _, variant = case.partition("-")
    hyperparams = {"policy_kwargs": {"net_arch": [64]}} if variant == "same-depth" else {}
    config = TrainConfig(
        env="mtml/CartPole-v0", method=method, algo="ppo", n_envs=N_ENVS, seed=SEED, hyperparams=hyperparams
    )
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    stack = build_env(config, spec, hp, N_ENVS)
    return build_model(config, algo, hp, stack)


def worker(case: str, timesteps: int) -> Measurement:
    """Build the case's model, then time ``learn`` alone."""
    import torch as th

    th.set_num_threads(1)
    model = build_sb3() if case == "sb3" else build_mtml(case)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=timesteps, progress_bar=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return Measurement(case, int(model.num_timesteps), seconds, cpu_seconds, peak_kb / 1024)


def measure(case: str, timesteps: int) -> Measurement:
    """Run one case in a fresh interpreter (so peak memory is the case's own)."""
    cmd = [sys.executable, __file__, "--worker", case, "--timesteps", str(timesteps)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{done.stderr}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def report(results: dict[str, list[Measurement]], timesteps: int, rounds: int) -> None:
    """A rich table of medians, ranges, ratios to plain SB3 and peak memory."""
    from rich.console import Console
    from rich.table import Table

    wall = {case: statistics.median(m.steps_per_second for m in runs) for case, runs in results.items()}
    cpu = {case: statistics.median(m.steps_per_cpu_second for m in runs) for case, runs in results.items()}
    table = Table(
        title=f"PPO training throughput: {timesteps:,} steps x {rounds} rounds, {N_ENVS} envs, 1 thread"
    )
    columns = ("case", "steps/s", "range", "ratio", "steps/CPU-s", "ratio (CPU)", "goal", "peak RSS MB")
    for column in columns:
        table.add_column(column, justify="left" if column == "case" else "right")
    for case, runs in results.items():
        rates = [m.steps_per_second for m in runs]
        goal = GOALS.get(case)
        name = "plain SB3 (CartPole-v1)" if case == "sb3" else f"mtml-rl {case} (mtml/CartPole-v0)"
        table.add_row(
            name,
            f"{wall[case]:,.0f}",
            f"{min(rates):,.0f}-{max(rates):,.0f}",
            _ratio(wall[case] / wall["sb3"], goal),
            f"{cpu[case]:,.0f}",
            _ratio(cpu[case] / cpu["sb3"], goal),
            "" if goal is None else f">= {goal:.2f}",
            f"{statistics.median(m.peak_rss_mb for m in runs):,.0f}",
        )
    Console(width=140).print(table)
    print("steps/s: wall clock of model.learn; steps/CPU-s: the same over the process's CPU time, which")
    print("other load on a shared machine disturbs less. Medians over rounds; 'range' is min-max.")


def _ratio(value: float, goal: float | None) -> str:
    if goal is None:
        return f"{value:.2f}"
    return f"{value:.2f} {'ok' if value >= goal else 'below'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=int, default=20_000, help="training steps per run")
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of every case")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="cases to run")
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.timesteps).__dict__))
        return 0
    cases = ["sb3", *[c for c in args.cases if c != "sb3"]]
    results: dict[str, list[Measurement]] = {case: [] for case in cases}
    for round_index in range(args.rounds):
        for case in cases:
            m = measure(case, args.timesteps)
            results[case].append(m)
            print(
                f"round {round_index + 1}/{args.rounds} {case:14s} {m.steps_per_second:8,.0f} steps/s "
                f"{m.steps_per_cpu_second:8,.0f} steps/CPU-s",
                flush=True,
            )
    report(results, args.timesteps, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
