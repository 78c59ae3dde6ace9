"""Evaluation time: trials in parallel slots against one slot per task, on the same runs.

Trains the quickstart's methods (``dr``, ``oracle``, ``adapt`` on ``mtml/CartPole-v0``,
the quickstart's pinned ``default``-profile hyperparameters, seed 0) unless ``--runs``
names trained runs, then evaluates them with ``mtml_rl.evaluation.evaluate`` on the train, interpolation and
extrapolation splits (10 episodes per task, as ``mtml-rl evaluate`` does by default) in
three ways, interleaved over ``--repeats`` rounds:

- ``before``: how evaluation ran before: each task's episodes one after another in one slot
  (``EvalConfig(parallel_trials=False)``), with the pictures, and the bootstrap intervals
  computed by rliable one resample at a time (the reference implementation kept below);
- ``parallel``: every episode in a slot of its own and the intervals of all resamples at
  once (the defaults), with the pictures;
- ``parallel, no figures``: the same without pictures (what a benchmark trial runs).

It checks that every mode gives the same episode returns and the same intervals, and prints
wall and CPU seconds (medians) and the speed-ups over ``before``. Usage::

    python scripts/bench_evaluation.py
    python scripts/bench_evaluation.py --runs runs/a runs/b --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import torch as th

from mtml_rl.benchmark.quickstart import ENV, HISTORY_ARCH, PPO
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.evaluation import scores as score_fns
from mtml_rl.evaluation.evaluate import EvalConfig, evaluate
from mtml_rl.evaluation.results import Interval
from mtml_rl.lifetime import script_exit_status
from mtml_rl.training import TrainConfig, train

SPLITS = ("train", "test-interpolation", "test-extrapolation")
MODES = {
    "before": {"parallel_trials": False},
    "parallel": {},
    "parallel, no figures": {"figures": False},
}


def rliable_intervals(
    scores: Mapping[str, np.ndarray], *, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> dict[str, dict[str, Interval]]:
    """The aggregate intervals as computed before: rliable, one metric call per resample."""
    from rliable import library as rly
    from rliable import metrics

    def vector(table: np.ndarray) -> np.ndarray:
        return np.array(
            [
                metrics.aggregate_iqm(table),
                metrics.aggregate_mean(table),
                metrics.aggregate_median(table),
                metrics.aggregate_optimality_gap(table),
            ]
        )

    data = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    with score_fns.seeded_bootstrap(seed) as state:
        points, cis = rly.get_interval_estimates(
            data, vector, reps=reps, confidence_interval_size=confidence, random_state=state
        )
    return {
        key: {
            name: Interval(float(points[key][i]), float(cis[key][0, i]), float(cis[key][1, i]))
            for i, name in enumerate(score_fns.METRICS)
        }
        for key in data
    }


def rliable_improvement(
    scores: Mapping[str, np.ndarray],
    pairs: list[tuple[str, str]],
    *,
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[tuple[str, str], Interval]:
    """The probabilities of improvement as computed before: rliable, one call per resample."""
    from rliable import library as rly

    data = {f"{x}\x00{y}": [np.asarray(scores[x]), np.asarray(scores[y])] for x, y in pairs}
    with score_fns.seeded_bootstrap(seed) as state:
        points, cis = rly.get_interval_estimates(
            data,
            score_fns.probability_of_improvement,
            reps=reps,
            confidence_interval_size=confidence,
            random_state=state,
        )
    return {
        tuple(key.split("\x00")): Interval(  # type: ignore[misc]
            float(points[key]), float(np.ravel(cis[key])[0]), float(np.ravel(cis[key])[1])
        )
        for key in data
    }


@contextmanager
def previous_intervals() -> Iterator[None]:
    """Inside the block, evaluation computes its intervals as it did before."""
    with (
        patch.object(score_fns, "aggregate_intervals", rliable_intervals),
        patch.object(score_fns, "improvement_probabilities", rliable_improvement),
    ):
        yield


def train_runs(root: Path, timesteps: int) -> list[Path]:
    """The quickstart's three methods at ``timesteps`` PPO steps, seed 0."""
    paths = []
    for method in ("dr", "oracle", "adapt"):
        config = TrainConfig(
            env=ENV,
            method=method,
            timesteps=timesteps,
            seed=0,
            hyperparams=dict(PPO),
            history_arch=HISTORY_ARCH,
            adapt_timesteps=timesteps // 3,
            eval_freq=0,
            save_freq=0,
            out=str(root / method),
        )
        train(config, force=True, progress=False)
        paths.append(root / method)
    return paths


def time_mode(runs: list[Path], out: Path, mode: str, episodes: int) -> tuple[float, float, list[Any]]:
    """Wall and CPU seconds of one evaluation, and what it found (returns, intervals)."""
    config = EvalConfig(splits=SPLITS, episodes=episodes, progress=False, **MODES[mode])  # type: ignore[arg-type]
    start, cpu = time.perf_counter(), time.process_time()
    with previous_intervals() if mode == "before" else nullcontext():
        results, _ = evaluate(runs, config, out)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    found = [e.ret for e in results.episodes] + [a.__dict__ for a in results.aggregates]
    found += [i.__dict__ for i in results.improvements]
    return wall, cpu, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", nargs="+", type=Path, help="trained runs (default: train the quickstart's)")
    parser.add_argument(
        "--timesteps", type=positive_int, default=60_000, help="PPO steps of the runs trained here"
    )
    parser.add_argument("--episodes", type=positive_int, default=10, help="episodes per task")
    parser.add_argument("--repeats", type=positive_int, default=3, help="rounds of every mode")
    args = parse_arguments(parser, argv)
    th.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = args.runs or train_runs(root / "runs", args.timesteps)
        times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        returns: dict[str, list[Any]] = {}
        for round_index in range(args.repeats):
            for mode in MODES:
                wall, cpu, rets = time_mode(runs, root / "eval", mode, args.episodes)
                times[mode].append((wall, cpu))
                returns[mode] = rets
                print(
                    f"round {round_index + 1}/{args.repeats} {mode:22s} {wall:6.1f} s ({cpu:6.1f} CPU-s)",
                    flush=True,
                )
    same = all(r == returns["before"] for r in returns.values())
    report(times, len(runs), args.episodes, same)
    return 0 if same else 1


def report(times: dict[str, list[tuple[float, float]]], n_runs: int, episodes: int, same: bool) -> None:
    """Medians and speed-ups over the first mode."""
    base_wall = statistics.median(w for w, _ in times["before"])
    base_cpu = statistics.median(c for _, c in times["before"])
    print(f"\n{n_runs} runs x {', '.join(SPLITS)} x {episodes} episodes per task (medians)")
    print(f"{'mode':22s} {'wall s':>8s} {'CPU s':>8s} {'speed-up (wall)':>16s} {'(CPU)':>7s}")
    for mode, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(f"{mode:22s} {wall:8.1f} {cpu:8.1f} {base_wall / wall:15.1f}x {base_cpu / cpu:6.1f}x")
    print(f"episode returns and intervals identical in every mode: {same}")


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_evaluation.py", main))
