"""Reproduce the README's results table: every classic-control spec x six methods x three seeds.

    python scripts/reproduce.py                                   # benchmarks/reproduce.yaml, local pool
    python scripts/reproduce.py --backend ray --address HOST:PORT # on a Ray cluster
    python scripts/reproduce.py --timesteps 2000 --seeds 0 --out /tmp/tiny   # a smoke test
    python scripts/reproduce.py --config benchmarks/reproduce-small.yaml --budgets  # plan only

The grid is ``benchmarks/reproduce.yaml`` (flags override it). Finished trials are skipped
on a rerun and failed ones retried, so an interrupted reproduction continues where it
stopped. The script prints a markdown section (scores with intervals, the dr-to-oracle gap
per family, success rates where the families define success, the report's caveats, the
budgets, the commit, date and machine: the README quotes the scores and the gap,
docs/results.md the rest) and writes it to ``<out>/results_table.md``. With
``--budgets`` it prints the grid's budget table (environment steps per spec and method, the
steps a method spends on each test task included) and runs nothing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.config import BACKENDS, BenchmarkConfig
from mtml_rl.benchmark.evaluation import ScoreRow
from mtml_rl.benchmark.provenance import Provenance, budgets_markdown
from mtml_rl.benchmark.runner import BenchmarkResult, run_benchmark
from mtml_rl.benchmark.tables import gap_markdown, scores_markdown, success_markdown
from mtml_rl.benchmark.trials import plan_trials
from mtml_rl.cli.arguments import DistinctValues, config_source, flag_of, parse_arguments
from mtml_rl.errors import MtmlError, exit_status
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import report_interruption, sigterm_interrupts

GRID = Path(__file__).resolve().parent.parent / "benchmarks" / "reproduce.yaml"
TABLE_FILE = "results_table.md"
SUCCESS_NOTE = (
    "An episode succeeds if its family's success flag is set at any step; a run's rate on a task is "
    "its share of successful episodes. Mean over seeds × tasks [95% bootstrap interval]."
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=str(GRID), help="grid file (default: benchmarks/reproduce.yaml)")
    parser.add_argument("--envs", nargs="+", help="only these specs")
    parser.add_argument("--methods", nargs="+", help="only these methods")
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, help="only these seeds")
    parser.add_argument("--timesteps", type=int, help="steps per trial (default: the shipped budgets)")
    parser.add_argument("--adapt-timesteps", type=int, help="adapt: phase-2 steps")
    parser.add_argument("--finetune-timesteps", type=int, help="finetune: steps on each test task")
    parser.add_argument("--out", help="benchmark folder (default: the grid file's)")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--address", help="ray: cluster address")
    parser.add_argument("--workers", type=int, help="local: parallel trials")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--retrain-changed",
        action="store_true",
        help="retrain each trial whose finished run is not its own any more (the grid file or the "
        "shipped defaults changed since) and keep the others",
    )
    parser.add_argument(
        "--budgets", action="store_true", help="print the grid's budget table and run nothing"
    )
    return parse_arguments(parser, argv)


GRID_FLAGS = ("envs", "methods", "seeds", "timesteps", "out", "backend", "address", "workers")
"""The flags that override the grid file's fields of the same name."""
TRAIN_FLAGS = ("adapt_timesteps", "finetune_timesteps")
"""The flags that override the grid file's ``train`` fields of the same name."""


def build_config(args: argparse.Namespace) -> BenchmarkConfig:
    """The grid file with the flags applied."""
    data: dict[str, Any] = BenchmarkConfig.from_yaml(args.config).to_dict()
    given = [name for name in GRID_FLAGS + TRAIN_FLAGS if getattr(args, name) is not None]
    for name in given:
        layer = data["train"] if name in TRAIN_FLAGS else data
        layer[name] = getattr(args, name)
    if args.address is not None:
        data["backend"] = "ray"
    flags = [flag_of(name) for name in given]
    return BenchmarkConfig.from_dict(data, source=config_source(args.config, flags))


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{seconds / 60:.1f} min"


def results_markdown(
    result: BenchmarkResult,
    grid: BenchmarkConfig,
    provenance: Provenance,
    wall_s: float,
    command: str = "python scripts/reproduce.py",
) -> str:
    """The results section: provenance, scores, the dr-to-oracle gap, success rates, caveats and budgets."""
    trials = plan_trials(grid)
    worker_s = sum(r.wall_s for r in result.records)
    backend = f"{grid.backend} backend" + (
        f", {grid.resolved_workers()} workers" if grid.backend == "local" else ""
    )
    rows = result.comparison.rows if result.comparison is not None else []
    lines = [
        f"### {grid.name}",
        "",
        f"Commit `{provenance.commit}`, {provenance.date}, {provenance.machine}; "
        f"{len(trials)} trials ({len(grid.envs)} specs × {len(grid.methods)} methods × "
        f"{len(grid.seeds)} seeds{_less_unsupported(result)}), "
        f"{backend}; wall time of this invocation {_hours(wall_s)}, of the trials' last attempts "
        f"{_hours(worker_s)} of worker time. Reproduce: `{command}`.",
    ]
    if result.failed:
        lines += ["", f"**Incomplete:** {len(result.failed)} trial(s) failed: {', '.join(result.failed)}."]
    lines += _scores_section(rows)
    success = success_markdown(result.comparison.success) if result.comparison is not None else ""
    if success:
        lines += ["", "#### Success rate", "", SUCCESS_NOTE, "", success]
    lines += caveats_markdown(result.comparison.notes if result.comparison is not None else [])
    lines += ["", "#### Budgets", "", budgets_markdown(trials), ""]
    return "\n".join(lines)


NO_SCORES = (
    "No normalized scores: no split of this grid has a reference return to normalize by (an "
    "oracle trained in the same grid, or the family's documented one); the success rates and "
    "the report's mean returns are its comparison."
)

NO_GAP = (
    "No dr-to-oracle gap: no spec of this grid has both `dr` and `oracle` evaluated; merge its "
    "evaluations with a grid that has them (`mtml-rl compare`) for the share of the gap each "
    "method closes."
)


def _scores_section(rows: Sequence[ScoreRow]) -> list[str]:
    """The normalized scores and the dr-to-oracle gap, or one line saying there are none."""
    if not rows:
        return ["", NO_SCORES]
    note = (
        "Normalized score: (R − R_random) / (R_oracle − R_random); IQM over seeds × tasks "
        "[95% bootstrap interval] (mean return). Deployed methods never see the true context."
    )
    table = gap_markdown(rows)
    gap = ["#### The dr-to-oracle gap per family", "", table] if table else [NO_GAP]
    return ["", note, "", scores_markdown(rows), "", *gap]


def _less_unsupported(result: BenchmarkResult) -> str:
    """`` less N unsupported (spec, method) cells`` where the grid left some out (see the caveats)."""
    count = len(result.unsupported)
    return f", less {count} unsupported (spec, method) cell(s), see the caveats" if count else ""


def caveats_markdown(notes: Sequence[str]) -> list[str]:
    """The comparison's notes (splits with no meaningful gap, oracles below their solved level,
    floored gaps), as a list under the gap table."""
    return ["", "Caveats of the comparison:", "", *[f"- {note}" for note in notes]] if notes else []


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or continue) the reproduction and print the table; exit 2 on bad input, 1 if trials failed."""
    args = parse_args(argv)
    try:
        grid = build_config(args)
        if args.budgets:
            print(budgets_markdown(plan_trials(grid)))
            return 0
        start = time.monotonic()
        with sigterm_interrupts():
            result = run_benchmark(
                grid, retrain_changed=args.retrain_changed, progress=False if args.quiet else None
            )
    except MtmlError as exc:
        print(f"reproduce: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return report_interruption("reproduce", exc, "finished trials are kept, the same command goes on")
    command = shlex.join(["python", "scripts/reproduce.py", *(sys.argv[1:] if argv is None else argv)])
    text = results_markdown(result, grid, Provenance.now(), time.monotonic() - start, command)
    atomic_write_text(grid.out_dir / TABLE_FILE, text)
    print(text)
    print(f"(written to {grid.out_dir / TABLE_FILE})", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(exit_status("reproduce", main))
