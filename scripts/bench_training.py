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
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.throughput import LearnTiming, paired_ratios, run_worker, time_learn
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.errors import ConfigError
from mtml_rl.io import InputFileError, atomic_write_text, read_text_file, record_problem
from mtml_rl.lifetime import script_exit_status

CASES = (
    "sb3",
    "dr",
    "oracle",
    "history",
    "history-mlp",
    "history-conv32",
    "history-conv16",
    "dr-same-depth",
    "oracle-one-tensor",
)
"""``sb3`` is plain SB3 on Gymnasium's CartPole-v1; the others are mtml-rl on mtml/CartPole-v0 with
the method's defaults. ``history-mlp`` is ``history`` with the MLP history encoder instead of the
default 1-D convolution; ``history-conv32`` and ``history-conv16`` keep the convolution with 32 or
16 channels instead of 64. ``dr-same-depth`` is ``dr`` with ``net_arch=[64]`` after the 64-unit
observation encoder, so that its network has plain SB3's depth and width: it isolates the cost of
the environment stack (vector env, SB3 adapter, episode monitor) from that of the larger network.
``oracle-one-tensor`` is ``oracle`` with torch's default one-tensor-at-a-time optimizer updates
instead of the ``foreach`` updates mtml-rl switches every model to (the same arithmetic), as
models trained before that switch were updated."""
GOALS = {"dr": 1.0, "oracle": 0.95, "history": 0.8, "history-mlp": 0.8}
"""Throughput goals as fractions of plain SB3 (steps per CPU-second): ``dr`` as fast as plain SB3,
``oracle`` within 5%, the history encoder within 20% (``history-mlp``: the same goal, for the
other encoder that could be the default)."""
N_ENVS = 8
SEED = 0
MAX_SAVED_BYTES = 10_000_000
"""Largest file ``--load`` reads (a saved file of a few rounds is a few kilobytes)."""


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
    from mtml_rl.specs.spec import resolve_spec
    from mtml_rl.training import TrainConfig
    from mtml_rl.training.builders import build_env, build_model, resolve_algo
    from mtml_rl.training.optim import model_optimizers

    method, _, variant = case.partition("-")
    fields: dict[str, Any] = {}
    if variant == "same-depth":
        fields["hyperparams"] = {"policy_kwargs": {"net_arch": [64]}}
    if variant == "mlp":
        fields["history_arch"] = "mlp"
    if variant.startswith("conv"):
        fields["history_hidden"] = int(variant.removeprefix("conv"))
    config = TrainConfig(
        env="mtml/CartPole-v0", method=method, algo="ppo", n_envs=N_ENVS, seed=SEED, **fields
    )
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    stack = build_env(config, spec, hp, N_ENVS)
    model = build_model(config, algo, hp, stack)
    if variant == "one-tensor":
        for optimizer in model_optimizers(model):
            for group in optimizer.param_groups:
                group["foreach"] = None
    return model


def worker(case: str, timesteps: int) -> LearnTiming:
    """Build the case's model, then time ``learn`` alone."""
    import torch as th

    th.set_num_threads(1)
    return time_learn(build_sb3() if case == "sb3" else build_mtml(case), timesteps, case)


def measure(case: str, timesteps: int) -> LearnTiming:
    """Run one case in a fresh interpreter (so peak memory is the case's own)."""
    return run_worker(__file__, ["--worker", case, "--timesteps", str(timesteps)])


def report(results: dict[str, list[LearnTiming]], timesteps: int, rounds: int) -> None:
    """A rich table: median throughputs, paired ratios to plain SB3, peak memory."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"PPO training throughput: {timesteps:,} steps x {rounds} rounds, {N_ENVS} envs, 1 thread"
    )
    columns = (
        "case",
        "steps/s",
        "steps/CPU-s",
        "ratio",
        "ratio (CPU)",
        "CPU ratio range",
        "goal",
        "peak RSS MB",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "case" else "right")
    for case, runs in results.items():
        wall = paired_ratios(runs, results["sb3"], cpu=False)
        cpu = paired_ratios(runs, results["sb3"], cpu=True)
        goal = GOALS.get(case)
        table.add_row(
            "plain SB3 (CartPole-v1)" if case == "sb3" else f"mtml-rl {case}",
            f"{statistics.median(m.steps_per_second for m in runs):,.0f}",
            f"{statistics.median(m.steps_per_cpu_second for m in runs):,.0f}",
            _ratio(statistics.median(wall), goal),
            _ratio(statistics.median(cpu), goal),
            f"{min(cpu):.2f}-{max(cpu):.2f}",
            "" if goal is None else f">= {goal:.2f}",
            f"{statistics.median(m.peak_rss_mb for m in runs):,.0f}",
        )
    Console(width=140).print(table)
    print("steps/s: wall clock of model.learn; steps/CPU-s: over the process's own CPU time, which")
    print("other load on a shared machine disturbs less. Ratios: median over rounds of the case's")
    print("throughput over plain SB3's in the same round; the range is over rounds (CPU time).")


def _ratio(value: float, goal: float | None) -> str:
    if goal is None:
        return f"{value:.3f}"
    return f"{value:.3f} {'ok' if value >= goal else 'below'}"


@dataclass(frozen=True)
class SavedMeasurements:
    """What ``--save`` writes: the shape ``--load`` checks (each measurement a :class:`LearnTiming`)."""

    timesteps: int
    rounds: int
    results: dict[str, list[dict[str, Any]]]


def load_saved(path: Path) -> tuple[dict[str, list[LearnTiming]], int, int]:
    """The measurements, timesteps and rounds of a file written by ``--save``."""
    try:
        saved = json.loads(read_text_file(path, max_bytes=MAX_SAVED_BYTES))
    except (InputFileError, ValueError, RecursionError) as exc:
        raise ConfigError(f"--load {path} is not a file written by --save: {exc}") from None
    problem = record_problem(SavedMeasurements, saved)
    if not problem:
        problem = next(
            (
                f"a measurement of {case}: {wrong}"
                for case, runs in saved["results"].items()
                for run in runs
                if (wrong := record_problem(LearnTiming, run))
            ),
            "",
        )
    if problem:
        raise ConfigError(f"--load {path} is not a file written by --save: {problem}")
    results = {case: [LearnTiming(**m) for m in runs] for case, runs in saved["results"].items()}
    return results, saved["timesteps"], saved["rounds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=positive_int, default=20_000, help="training steps per run")
    parser.add_argument("--rounds", type=positive_int, default=5, help="repetitions of every case")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="cases to run")
    parser.add_argument("--save", type=Path, help="also write the raw measurements to this JSON file")
    parser.add_argument("--load", type=Path, help="only print the table of a file written by --save")
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    args = parse_arguments(parser, argv)
    if args.worker:
        print(worker(args.worker, args.timesteps).to_json())
        return 0
    if args.load:
        report(*load_saved(args.load))
        return 0
    cases = ["sb3", *[c for c in args.cases if c != "sb3"]]
    results: dict[str, list[LearnTiming]] = {case: [] for case in cases}
    for round_index in range(args.rounds):
        for case in cases:
            m = measure(case, args.timesteps)
            results[case].append(m)
            print(
                f"round {round_index + 1}/{args.rounds} {case:14s} {m.steps_per_second:8,.0f} steps/s "
                f"{m.steps_per_cpu_second:8,.0f} steps/CPU-s",
                flush=True,
            )
    if args.save:
        raw = {case: [m.__dict__ for m in runs] for case, runs in results.items()}
        atomic_write_text(
            args.save, json.dumps({"timesteps": args.timesteps, "rounds": args.rounds, "results": raw}) + "\n"
        )
    report(results, args.timesteps, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_training.py", main))
