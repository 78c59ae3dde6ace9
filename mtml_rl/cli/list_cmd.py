"""``mtml-rl list``: the registered environments, their families and parameters."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from mtml_rl.families.registry import get_family
from mtml_rl.specs.spec import builtin_specs


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "list",
        help="list registered environments and their varying parameters",
        description="List every registered mtml-rl environment id.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    table = Table(title="mtml-rl environments")
    for column in ("id", "family", "varying parameters (train region)", "splits", "steps"):
        table.add_column(column)
    for spec_id, spec in sorted(builtin_specs().items()):
        try:
            get_family(spec.family)
        except Exception:  # an optional extra is missing
            continue
        varying = "; ".join(f"{p.name} {p.train.as_list()}" for p in spec.parameters)
        splits = ", ".join(f"{k}:{v}" for k, v in spec.split_sizes.items() if v)
        table.add_row(spec_id, spec.family, varying, splits, str(spec.max_episode_steps))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)
    return 0
