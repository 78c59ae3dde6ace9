"""``mtml-rl quickstart``: the whole idea in one command (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mtml_rl.benchmark.quickstart import (
    DEFAULT_PROFILE,
    DEFAULT_TIMESTEPS,
    PROFILES,
    SEEDS,
    TIMESTEPS_VARIABLE,
    QuickstartResult,
    run_quickstart,
)
from mtml_rl.cli.benchmark_cmd import AFTER_INTERRUPT, summarize
from mtml_rl.errors import ConfigError


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "quickstart",
        help="train dr, oracle and adapt on CartPole, evaluate them on held-out tasks, report",
        description=(
            "Train dr (context-blind), oracle (reads the true task) and adapt (infers the task from "
            "its recent history) on the CartPole family, evaluate them on the train, interpolation and "
            "extrapolation splits, print normalized scores with 95% intervals and write the full "
            "report with pictures. About a minute on 2 CPU cores."
        ),
    )
    parser.add_argument(
        "--timesteps",
        "--budget",
        dest="timesteps",
        type=int,
        default=None,
        help=f"PPO steps per method (default: ${TIMESTEPS_VARIABLE} or {DEFAULT_TIMESTEPS})",
    )
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/quickstart-<time>)")
    parser.add_argument(
        "--seeds",
        type=int,
        default=len(SEEDS),
        metavar="N",
        help=f"number of training seeds, 0..N-1 (default: {len(SEEDS)})",
    )
    parser.add_argument("--workers", type=int, help="parallel trainings (default: one per core)")
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default=DEFAULT_PROFILE,
        help=f"hyperparameters (default: {DEFAULT_PROFILE}): fast (32 slots, 512-sample minibatches: "
        "half the gradient steps per environment step) or default (PPO's shipped CartPole "
        "settings); docs/training.md",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def held_out_lines(result: QuickstartResult) -> list[str]:
    """Each deployed method against the context-blind one (``adapt`` against ``dr``) in mean
    return on each held-out split."""
    from mtml_rl.benchmark.tables import SPLIT_LABELS, gap_ends

    comparison = result.benchmark.comparison
    if comparison is None:
        return []
    lines = []
    for split in ("test-interpolation", "test-extrapolation"):
        cells = {r.method: r for r in comparison.rows if r.split == split}
        ends = gap_ends(list(cells))
        if ends is None:
            continue
        blind = cells[ends[0]]
        for method, row in cells.items():
            if method in ends:
                continue
            verdict = "above" if row.mean_return > blind.mean_return else "NOT above"
            lines.append(
                f"{SPLIT_LABELS[split]}: {method} {row.mean_return:.1f} vs {blind.method} "
                f"{blind.mean_return:.1f} mean return ({verdict} {blind.method}, "
                f"{row.mean_return - blind.mean_return:+.1f})"
            )
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print the table, the verdict and where everything is."""
    from rich.console import Console

    from mtml_rl.benchmark.tables import scores_rich

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    result = run_quickstart(
        args.timesteps,
        args.out,
        workers=args.workers,
        seeds=list(range(args.seeds)),
        progress=False if args.quiet else None,
        profile=args.profile,
    )
    console = Console(width=None if sys.stdout.isatty() else 160)
    bench = result.benchmark
    if bench.comparison is None or bench.failed:
        summarize(bench, console)
        return 1
    console.print(scores_rich(bench.comparison.rows, f"CartPole, {result.timesteps} PPO steps per method"))
    for note in bench.comparison.notes:
        console.print(f"note: {note}", highlight=False)
    for line in held_out_lines(result):
        console.print(line, highlight=False)
    console.print(f"finished in {result.wall_s:.0f}s")
    console.print(f"report with pictures: {bench.comparison.report}")
    console.print(f"run folder: {bench.out_dir}")
    return 0
