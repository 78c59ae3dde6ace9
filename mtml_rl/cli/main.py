"""Entry point of ``mtml-rl``: dispatches subcommands; bad input exits 2 with one message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mtml_rl.cli import benchmark_cmd, compare_cmd, evaluate_cmd, list_cmd, quickstart_cmd, train_cmd
from mtml_rl.errors import BAD_INPUT_EXIT_CODE, MtmlError, output_problem
from mtml_rl.lifetime import report_interruption, sigterm_interrupts

SUBCOMMANDS = (list_cmd, train_cmd, evaluate_cmd, compare_cmd, benchmark_cmd, quickstart_cmd)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for usage)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = _Parser(prog="mtml-rl", description="Multitask and meta RL on parameterized Gymnasium families.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input or an output that cannot be
    written, 130 interrupted by Ctrl-C, 143 terminated by SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with sigterm_interrupts():
            return int(args.func(args) or 0)
    except MtmlError as exc:
        print(f"mtml-rl {args.command}: error: {exc}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except OSError as exc:
        problem = output_problem(exc)
        if problem is None:
            raise
        print(f"mtml-rl {args.command}: error: {problem}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except KeyboardInterrupt as exc:
        next_step = "the last checkpoint is whole and resumable"
        return report_interruption(f"mtml-rl {args.command}", exc, next_step)


if __name__ == "__main__":
    sys.exit(main())
