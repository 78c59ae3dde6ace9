"""``mtml-rl benchmark``: a grid of (spec, method, seed) trials, then one compare report."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mtml_rl.benchmark.config import BACKENDS, BenchmarkConfig
from mtml_rl.cli.arguments import config_source, flag_of
from mtml_rl.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from mtml_rl.benchmark.runner import BenchmarkResult

_FLAGS = (
    "envs",
    "methods",
    "seeds",
    "timesteps",
    "out",
    "backend",
    "workers",
    "threads_per_worker",
    "address",
)


AFTER_INTERRUPT = (
    "finished trials are kept and stopped ones go on from their last checkpoints: run the same command again"
)
"""What the CLI says after Ctrl-C or SIGTERM stopped this command."""


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "benchmark",
        help="train and evaluate a grid of (spec, method, seed) trials, then compare them",
        description=(
            "Train every (spec, method, seed) trial of a grid (from --config FILE and/or flags, flags "
            "winning), evaluate each, and write one compare report to OUT/report/. Rerunning skips "
            "finished trials and retries failed ones; OUT/trials.json lists every trial with its status "
            "and last error."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="grid file (YAML; see docs/benchmark.md)")
    parser.add_argument("--envs", nargs="+", metavar="ENV", help="spec ids or spec files")
    parser.add_argument("--methods", nargs="+", metavar="METHOD", help="methods (default: dr oracle adapt)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="training seeds (default: 0)")
    parser.add_argument(
        "--timesteps", type=int, help="environment steps per trial (default: shipped budgets)"
    )
    parser.add_argument("--out", metavar="DIR", help="benchmark folder (default: ./benchmark)")
    parser.add_argument("--backend", choices=BACKENDS, help="local process pool (default) or ray")
    parser.add_argument("--workers", type=int, help="local: parallel trials (default: cores / threads)")
    parser.add_argument(
        "--threads-per-worker", dest="threads_per_worker", type=int, help="torch threads per trial"
    )
    parser.add_argument(
        "--address", metavar="ADDR", help="ray: cluster address (host:port, auto, ray://host:port)"
    )
    parser.add_argument("--no-eval", action="store_true", help="train only; no evaluation or report")
    parser.add_argument("--force", action="store_true", help="retrain every trial, replacing finished ones")
    parser.add_argument(
        "--retrain-changed",
        action="store_true",
        help="retrain each trial whose finished run is not its own any more (another config, other "
        "shipped hyperparameters, another spec) and keep the others; without it such a run stops the grid",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def build_config(args: argparse.Namespace) -> BenchmarkConfig:
    """The grid file's fields (if any), overridden by explicit flags."""
    data: dict[str, Any] = {}
    if args.config:
        data = BenchmarkConfig.from_yaml(args.config).to_dict()
    given = [name for name in _FLAGS if getattr(args, name, None) is not None]
    for name in given:
        data[name] = getattr(args, name)
    if args.no_eval:
        data.setdefault("evaluation", {})["enabled"] = False
    if "envs" not in data:
        raise ConfigError("no environments: pass --config FILE or --envs ENV [ENV ...] (see `mtml-rl list`)")
    if data.get("address") is not None and "backend" not in data:
        data["backend"] = "ray"
    flags = [flag_of(name) for name in given] + (["--no-eval"] if args.no_eval else [])
    return BenchmarkConfig.from_dict(data, source=config_source(args.config, flags))


def summarize(result: BenchmarkResult, console: Console) -> None:
    """Print the trials' outcome, the failures with their errors, and where the report is."""
    from mtml_rl.benchmark.tables import scores_rich

    total = len(result.records)
    left_out = {cell.note for cell in result.unsupported}
    for cell in result.unsupported:
        console.print(f"  [yellow]not run[/yellow] {cell.note}", highlight=False)
    for name, reason in result.repaired.items():
        console.print(f"  [yellow]repaired[/yellow] {name}: {reason}", highlight=False)
    console.print(
        f"{total} trial(s): {total - len(result.failed)} finished "
        f"({len(result.ran)} run now, {len(result.skipped)} already done), {len(result.failed)} failed"
    )
    for record in result.records:
        if record.name in result.failed:
            console.print(
                f"  [red]{record.status}[/red] {record.name}: {record.error or 'not run'}", highlight=False
            )
    if result.failed:
        console.print(
            f"errors and tracebacks: {result.out_dir / 'trials.json'}; rerun the same command to retry"
        )
    if result.comparison is not None:
        console.print(scores_rich(result.comparison.rows, "normalized score"))
        for note in result.comparison.notes:
            if note in left_out:
                continue
            console.print(f"note: {note}", highlight=False)
        console.print(f"report: {result.comparison.report}")
    elif result.stale_report is not None:
        console.print(
            f"removed the earlier report {result.stale_report}: it described runs or evaluations "
            "this run replaced; the grid writes a new one once it runs with evaluation on and a "
            "trial finishes",
            highlight=False,
        )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit 0 if every trial finished, 1 if some failed."""
    from rich.console import Console

    from mtml_rl.benchmark.runner import run_benchmark

    config = build_config(args)
    progress = False if args.quiet else None
    result = run_benchmark(config, force=args.force, retrain_changed=args.retrain_changed, progress=progress)
    summarize(result, Console(width=None if sys.stdout.isatty() else 160))
    return 0 if result.ok else 1
