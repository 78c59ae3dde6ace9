"""Task by task: each method's mean return on a held-out split, and the share of the
``dr``-to-oracle gap a method closes on every task ("no gap" where the oracle does not beat
``dr`` there).

Reads evaluation folders (or ``results.json`` files), such as a grid's ``eval/*`` folders,
through the package's validated loader, merges them as ``mtml-rl compare`` does (a run in
two inputs counted once), pools each method's episodes over its runs (seeds) and prints
one markdown row per task, ordered by the value of one varying parameter.

Usage::

    python scripts/gap_by_task.py OUT/eval/HalfCheetahVel-* --split test-extrapolation \\
        --param target_velocity
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.evaluation.gaps import share_of_gap
from mtml_rl.evaluation.merge import merge_results
from mtml_rl.evaluation.results import Results, load_results
from mtml_rl.lifetime import script_exit_status


def task_returns(parts: Sequence[Results], split: str) -> dict[str, dict[str, float]]:
    """``{task_id: {method: mean return}}`` over every episode of ``split`` in ``parts``."""
    returns: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for results in parts:
        methods = {run.id: run.method for run in results.runs}
        for row in results.episodes:
            if row.split == split:
                returns[row.task_id][methods[row.run]].append(row.ret)
    return {task: {m: float(np.mean(r)) for m, r in by.items()} for task, by in returns.items()}


def task_params(parts: Sequence[Results], split: str, param: str) -> dict[str, float]:
    """``{task_id: value of param}`` for the tasks of ``split``."""
    return {t.task_id: float(t.params[param]) for r in parts for t in r.tasks if t.split == split}


def table(parts: Sequence[Results], split: str, param: str, method: str) -> list[str]:
    """The markdown rows: parameter value, ``dr``, oracle and ``method`` mean returns, share."""
    returns, values = task_returns(parts, split), task_params(parts, split, param)
    missing = {"dr", "oracle", method} - {m for by in returns.values() for m in by}
    if missing:
        raise SystemExit(f"no episodes of {', '.join(sorted(missing))} on {split}; pass their evaluations")
    rows = [
        f"| {param} | dr | oracle | {method} | {method}'s share of the gap |",
        "|---:|---:|---:|---:|---:|",
    ]
    for task in sorted(returns, key=values.__getitem__):
        r = returns[task]
        share = share_of_gap(r[method], r["dr"], r["oracle"])
        shown = "no gap" if share is None else f"{share:.0%}"
        rows.append(f"| {values[task]:.2f} | {r['dr']:.1f} | {r['oracle']:.1f} | {r[method]:.1f} | {shown} |")
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="+", type=Path, help="evaluation folders or results.json files")
    parser.add_argument(
        "--split", default="test-extrapolation", help="the split (default: test-extrapolation)"
    )
    parser.add_argument("--param", required=True, help="the varying parameter to order the tasks by")
    parser.add_argument(
        "--method", default="adapt", help="the method whose share is printed (default: adapt)"
    )
    args = parse_arguments(parser, argv)
    parts = [load_results(path) for path in args.results]
    merged = merge_results(parts, parts[0].protocol.bootstrap_reps)  # a run in two inputs once
    print("\n".join(table([merged], args.split, args.param, args.method)))


if __name__ == "__main__":
    sys.exit(script_exit_status("gap_by_task.py", main))
