"""Entry point of ``mtml-rl``: dispatches subcommands; bad input exits 2 with one message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from mtml_rl import __version__
from mtml_rl.cli import benchmark_cmd, compare_cmd, evaluate_cmd, list_cmd, quickstart_cmd, train_cmd
from mtml_rl.cli.arguments import not_utf8_argument
from mtml_rl.errors import exit_status
from mtml_rl.lifetime import report_interruption, sigterm_interrupts

SUBCOMMANDS = (list_cmd, train_cmd, evaluate_cmd, compare_cmd, benchmark_cmd, quickstart_cmd)
DEPENDENCIES = ("gymnasium", "stable-baselines3", "torch", "numpy")
"""The packages ``--version`` names beside mtml-rl's own version (what a bug report needs)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for usage)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = _Parser(
        prog="mtml-rl",
        description="Multitask and meta RL on parameterized Gymnasium families.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the --version line unwrapped
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def version_line() -> str:
    """``mtml-rl X (Python Y; gymnasium Z, ...)``: the versions a bug report should give."""
    found = []
    for name in DEPENDENCIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return f"mtml-rl {__version__} (Python {sys.version.split()[0]}; {', '.join(found)})"


def subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand (``train``) of the full parser."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[command]


def unrecognized(command_parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """The usage error for arguments the subcommand does not take, pointing a YAML file given
    alone (``mtml-rl benchmark grid.yaml``) to ``--config`` where the subcommand reads one."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    takes_config = "--config" in command_parser._option_string_actions
    if takes_config and len(extras) == 1 and extras[0].endswith((".yaml", ".yml")):
        message += f"; a file of settings is given as --config {extras[0]}"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or an output that cannot be
    written, 130 interrupted by Ctrl-C, 143 terminated by SIGTERM)."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command_parser = subcommand_parser(parser, args.command)
    if extras:
        command_parser.error(unrecognized(command_parser, extras))
    problem = not_utf8_argument(command_parser, args)
    if problem is not None:
        command_parser.error(problem)
    try:
        with sigterm_interrupts():  # refused input and unwritable outputs: one line, exit 2
            return exit_status(f"mtml-rl {args.command}", lambda: args.func(args))
    except KeyboardInterrupt as exc:
        next_step = getattr(args, "after_interrupt", "run the same command again")
        return report_interruption(f"mtml-rl {args.command}", exc, next_step)


if __name__ == "__main__":
    sys.exit(main())
