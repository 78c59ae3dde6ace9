"""Wall time of the benchmark grid's local backend: 2 workers against 1 on a 4-trial grid.

    python scripts/bench_grid.py                    # CartPole, dr and oracle x seeds 0-1, 10k steps
    python scripts/bench_grid.py --timesteps 5000 --workers 1 2 4 --evaluate

Each setting trains the same 4 trials from scratch in a fresh temporary folder (one torch
thread per worker) and the script prints a markdown table of wall times and the speed-up
over the first setting. Worker start-up (a spawned interpreter importing torch) is part of
the measured time, as it is for a user.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from mtml_rl.benchmark.config import BenchmarkConfig, EvalSettings
from mtml_rl.benchmark.runner import run_benchmark
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.lifetime import script_exit_status


def grid(out: Path, workers: int, timesteps: int, evaluate: bool) -> BenchmarkConfig:
    """The 4-trial grid: CartPole, ``dr`` and ``oracle``, seeds 0 and 1."""
    return BenchmarkConfig(
        envs=["mtml/CartPole-v0"],
        methods=["dr", "oracle"],
        seeds=[0, 1],
        timesteps=timesteps,
        out=str(out),
        train={"eval_freq": 0, "save_freq": 0},
        workers=workers,
        threads_per_worker=1,
        evaluation=EvalSettings(enabled=evaluate, splits=["test-interpolation"]),
    )


def measure(workers: int, timesteps: int, evaluate: bool) -> float:
    """Seconds to run the grid with ``workers`` processes, from an empty folder."""
    with tempfile.TemporaryDirectory(prefix=f"bench-grid-w{workers}-") as folder:
        start = time.perf_counter()
        result = run_benchmark(grid(Path(folder) / "bench", workers, timesteps, evaluate), progress=False)
        elapsed = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"trials failed: {result.failed}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every worker count and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--timesteps", type=positive_int, default=10_000, help="steps per trial (default 10000)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    parser.add_argument("--evaluate", action="store_true", help="include each trial's evaluation")
    parser.add_argument(
        "--repeats", type=positive_int, default=1, help="interleaved repetitions (median reported)"
    )
    args = parse_arguments(parser, argv)
    samples: dict[int, list[float]] = {w: [] for w in args.workers}
    for _ in range(args.repeats):
        for workers in args.workers:
            samples[workers].append(measure(workers, args.timesteps, args.evaluate))
    times = {w: statistics.median(s) for w, s in samples.items()}
    base = times[args.workers[0]]
    print(f"4 trials (CartPole, dr and oracle, seeds 0-1), {args.timesteps} steps each, ", end="")
    print(f"{'with' if args.evaluate else 'without'} evaluation; {os.cpu_count()} CPU cores; ", end="")
    print(f"median of {args.repeats} interleaved run(s)\n")
    print("| workers | wall time (s) | all runs (s) | speed-up |")
    print("|---|---|---|---|")
    for workers, seconds in times.items():
        runs = ", ".join(f"{s:.1f}" for s in samples[workers])
        print(f"| {workers} | {seconds:.1f} | {runs} | {base / seconds:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_grid.py", main))
