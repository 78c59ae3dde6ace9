"""``mtml-rl evaluate``: held-out evaluation of trained runs with honest statistics."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mtml_rl.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from mtml_rl.evaluation.evaluate import EvalConfig
    from mtml_rl.evaluation.results import Results


AFTER_INTERRUPT = "nothing of the evaluation was written: run the same command again"
"""What the CLI says after Ctrl-C or SIGTERM stopped this command."""


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that set the protocol (shared by ``evaluate`` and ``compare``)."""
    parser.add_argument(
        "--split",
        nargs="+",
        default=None,
        metavar="SPLIT",
        help="splits to evaluate (default: train and every test split of the spec; 'test' is their union)",
    )
    parser.add_argument(
        "--episodes", type=int, default=None, metavar="E", help="episodes per task (default: 10)"
    )
    parser.add_argument(
        "--trial",
        type=int,
        default=None,
        metavar="K",
        help="episodes per trial, over which an adapting method keeps its memory (default: each run's own)",
    )
    parser.add_argument("--stochastic", action="store_true", help="sample actions (default: deterministic)")
    parser.add_argument(
        "--seed", type=int, default=None, help="base reset seed: task i uses seed + i (default: 0)"
    )
    parser.add_argument(
        "--bootstrap-reps",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap replications of the 95%% confidence intervals (default: 2000)",
    )
    parser.add_argument(
        "--num-threads",
        type=int,
        default=1,
        metavar="N",
        help="torch CPU threads while evaluating (default: 1)",
    )
    parser.add_argument("--no-figures", action="store_true", help="write report.md without pictures (faster)")
    parser.add_argument(
        "--one-slot-per-task",
        action="store_true",
        help="play each task's trials one after another in one slot (the same episodes as the "
        "default, which plays them in slots of their own where the family allows it; slower)",
    )
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "evaluate",
        help="evaluate runs on held-out tasks: scores, intervals, pictures, report",
        description=(
            "Evaluate trained runs on their spec's splits with the context withheld (the oracle is the "
            "privileged reference). Writes results.json, results.csv, report.md and figures/ into --out "
            "(default: RUN/evaluation for one run)."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories made by `mtml-rl train`")
    add_protocol_arguments(parser)
    parser.add_argument(
        "--grid",
        nargs=2,
        default=None,
        metavar=("PARAM_A", "PARAM_B"),
        help="draw a heat map of normalized return over these two varying parameters",
    )
    parser.add_argument(
        "--grid-size",
        type=int,
        default=None,
        metavar="N",
        help="grid points per parameter of --grid (default: 9)",
    )
    parser.add_argument(
        "--video",
        type=int,
        default=0,
        metavar="N",
        help="record N episodes per run on the first task of each split",
    )
    parser.add_argument(
        "--deploy-as",
        default=None,
        metavar="METHOD",
        help="deploy every run as METHOD, a method that trains as the runs' own and differs only in "
        "deployment: `--deploy-as finetune` fine-tunes a dr run on each task before it acts "
        "(default output: RUN/evaluation-METHOD)",
    )
    parser.add_argument(
        "--deployment",
        nargs="+",
        default=None,
        metavar="FIELD=VALUE",
        help="values of the deploying method's deployment fields, e.g. finetune_timesteps=2000 "
        "(default: the run's own)",
    )
    parser.set_defaults(func=run, after_interrupt=AFTER_INTERRUPT)


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    """The :class:`EvalConfig` the flags describe."""
    from mtml_rl.evaluation.evaluate import EvalConfig  # torch: only once the command runs

    grid_size = getattr(args, "grid_size", None)
    if grid_size is not None and not getattr(args, "grid", None):
        raise ConfigError(
            "--grid-size sets the points per parameter of --grid's heat map, which was not asked for; "
            "give --grid PARAM_A PARAM_B with it"
        )
    return EvalConfig(
        splits=tuple(args.split) if args.split else None,
        episodes=10 if args.episodes is None else args.episodes,
        trial=args.trial,
        deterministic=not args.stochastic,
        seed=0 if args.seed is None else args.seed,
        grid=(args.grid[0], args.grid[1]) if getattr(args, "grid", None) else None,
        grid_size=9 if grid_size is None else grid_size,
        video=getattr(args, "video", 0),
        bootstrap_reps=args.bootstrap_reps,
        progress=False if args.quiet else None,
        num_threads=args.num_threads,
        parallel_trials=not args.one_slot_per_task,
        figures=not args.no_figures,
        deploy_as=getattr(args, "deploy_as", None),
        deployment=deployment_values(getattr(args, "deployment", None) or []),
    )


def deployment_values(pairs: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs as a dict, each value read as YAML (``2000`` is a number)."""
    from mtml_rl.cli.train_cmd import parse_pairs

    return parse_pairs(pairs, "--deployment", separator="=", key_name="FIELD")


def summary(results: Results) -> Table:
    """IQM and mean normalized scores by method and split."""
    from rich.table import Table

    table = Table(title="normalized scores: IQM [95% CI] (mean)")
    for column in ("spec", "split", "method", "runs", "IQM", "mean", "mean return"):
        table.add_column(column)
    for a in results.aggregates:
        table.add_row(
            a.spec,
            a.split,
            a.label,
            str(a.runs),
            f"{a.iqm.point:.2f} [{a.iqm.low:.2f}, {a.iqm.high:.2f}]",
            f"{a.mean.point:.2f}",
            f"{a.mean_return:.1f}",
        )
    return table


def run(args: argparse.Namespace) -> int:
    """Evaluate and say where the outputs are."""
    import matplotlib
    from rich.console import Console

    from mtml_rl.evaluation.evaluate import evaluate

    matplotlib.use("Agg")  # no display needed; the CLI owns its process
    results, out = evaluate(args.runs, config_from_args(args), args.out)
    if not args.quiet:
        Console(width=160).print(summary(results))
        for note in results.notes:  # e.g. no reference return: how to get normalized scores
            print(f"note: {note}")
    print(f"evaluation written: {out}/report.md")
    return 0
