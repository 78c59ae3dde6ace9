"""argparse types for the counts and durations that commands and scripts take, so that a zero or
negative one is refused as a usage error (one line, exit status 2) before anything runs,
:class:`DistinctValues` for a list whose values must differ (seeds), and
:func:`parse_arguments`, which refuses an argument that is not UTF-8 text the same way."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import PurePath


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--rounds 3``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number above 0 (``--budget 2.5``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


class DistinctValues(argparse.Action):
    """An ``nargs="+"`` option whose values must differ: ``--seeds 0 0`` trains seed 0's run
    twice (the second refused by the first one's lock, or the same bits counted as two
    seeds); it is a usage error naming the repeated value."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(values) if isinstance(values, list | tuple) else [values]
        repeated = sorted({str(v) for i, v in enumerate(items) if v in items[:i]})
        if repeated:
            parser.error(
                f"argument {option_string}: {', '.join(repeated)} given more than once; give each once"
            )
        setattr(namespace, self.dest, items)


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, refusing an argument that is not UTF-8 text as a usage error
    (:func:`not_utf8_argument`) before the command makes anything."""
    args = parser.parse_args(argv)
    problem = not_utf8_argument(parser, args)
    if problem is not None:
        parser.error(problem)
    return args


def not_utf8_argument(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """A usage error for the first of ``parser``'s arguments in ``args`` that is not UTF-8 text
    (a path whose bytes name no characters, which Python holds as surrogates): runs, grids and
    records keep their paths and command lines as UTF-8, so such a path would fail after a
    folder was made; ``None`` if all are text."""
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str | PurePath) and not _is_utf8(str(item)):
                flag = action.option_strings[0] if action.option_strings else action.metavar or action.dest
                return f"argument {flag}: {os.fsencode(item)!r} is not UTF-8 text; name it in UTF-8"
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def flag_of(field: str) -> str:
    """The command-line flag of a config field: ``--adapt-timesteps`` for ``adapt_timesteps``."""
    return "--" + field.replace("_", "-")


def config_source(path: str | None, flags: Sequence[str]) -> str:
    """Where a config's values came from, for its errors: ``grid.yaml``, ``grid.yaml with
    --timesteps from the command line`` (a value the flag gave must not be blamed on the
    file), or ``command line``.

    :param path: the config file given (``None``: none)
    :param flags: the flags given that override its fields (``--timesteps``)
    """
    if path is None:
        return "command line"
    return f"{path} with {', '.join(flags)} from the command line" if flags else path
