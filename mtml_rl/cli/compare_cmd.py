"""``mtml-rl compare``: one table by method x split (and one set of pictures) for many runs."""

from __future__ import annotations

import argparse
from typing import Any

from mtml_rl.cli.evaluate_cmd import add_protocol_arguments, config_from_args, summary

AFTER_INTERRUPT = "nothing of the comparison was written: run the same command again"
"""What the CLI says after Ctrl-C or SIGTERM stopped this command."""


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "compare",
        help="aggregate many runs and evaluations into one table by method x split",
        description=(
            "Merge evaluations (results.json files or evaluation folders) and runs (evaluated here) into "
            "one report: normalized scores by method x split with 95%% intervals, probability of "
            "improvement, and one set of pictures. Without protocol flags, runs are evaluated under the "
            "protocol of the first results given; all inputs must share it."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="RUN_OR_RESULTS",
        help="run directories, results.json files or evaluation folders",
    )
    add_protocol_arguments(parser)
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def run(args: argparse.Namespace) -> int:
    """Compare and say where the outputs are."""
    import matplotlib
    from rich.console import Console

    from mtml_rl.evaluation.evaluate import compare

    matplotlib.use("Agg")  # no display needed; the CLI owns its process
    explicit = args.episodes is not None or args.seed is not None or args.stochastic
    results, out = compare(args.inputs, config_from_args(args), args.out, adopt_protocol=not explicit)
    if not args.quiet:
        Console(width=160).print(summary(results))
    print(f"comparison written: {out}/report.md")
    return 0
