"""The package's error hierarchy.

Every error raised for bad user input derives from :class:`MtmlError` and from the
builtin that fits (``ValueError``, ``KeyError`` ...), so callers can catch either.
Messages name what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import errno
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


class MtmlError(Exception):
    """Base class of every error this package raises for bad input or state.

    Its errors cross process boundaries whole (a grid's worker, a script's process pool): they
    pickle as their message and attributes, not as a call of their own ``__init__``, whose
    arguments (``UnknownNameError(kind, name, known)``) are not what ``args`` keeps.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt_error, (type(self), self.args, self.__dict__))


def _rebuilt_error(cls: type[MtmlError], args: tuple[Any, ...], state: dict[str, Any]) -> MtmlError:
    """An error of ``cls`` with ``args`` and attributes ``state``, made without its ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class SpecError(MtmlError, ValueError):
    """A task-distribution spec (YAML) is invalid.

    :param message: what is wrong and how to fix it
    :param source: the file (or id) the spec came from
    :param field: the dotted path of the offending field, if any
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.detail = message
        """The message without the file and field."""
        where = ""
        if source:
            where += f"{source}"
        if field:
            where += f"{': ' if where else ''}field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


class TaskError(MtmlError, ValueError):
    """A task (parameter values) is invalid for its family or spec."""


class RejectedTask(TaskError):
    """Values each valid on their own whose combination is not a task of the family (two
    positions closer than the family allows, say). Splits draw again when a draw is rejected."""


class UnknownNameError(MtmlError, KeyError):
    """A name (env id, family, parameter, method ...) is not known."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(str(name), self.known, n=1, cutoff=0.5)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif self.known:
            message += "."
        if self.known:
            message += f" Known: {', '.join(self.known)}."
        if hint:
            message += f" {hint}"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class FamilyError(MtmlError, TypeError):
    """A family class, reference or registration is invalid (a missing attribute, a class
    that is not a family, an action space outside the suite's rule, a name taken twice)."""


class ConfigError(MtmlError, ValueError):
    """A training, evaluation or benchmark configuration is invalid."""


class CheckpointError(MtmlError, ValueError):
    """A run directory or checkpoint is missing, corrupt or incompatible."""


class FolderLockedError(MtmlError, RuntimeError):
    """Another live process is writing the folder (it holds the folder's lock).

    :param message: who holds it and what to do
    :param folder: the locked folder
    :param pid: the holder's process id, if it is known
    """

    def __init__(self, message: str, *, folder: Path | None = None, pid: int | None = None) -> None:
        self.folder = folder
        self.pid = pid
        super().__init__(message)


class MtmlWarning(UserWarning):
    """A setting that runs, but probably not as meant (a fine-tuning budget too small to
    update the clone, an entry point shadowed by a built-in family ...). The CLI and the
    scripts print it as one line, ``PROGRAM: warning: MESSAGE``; filter it by this class."""


@contextmanager
def one_line_warnings(program: str) -> Iterator[None]:
    """Within the block, show each :class:`MtmlWarning` as ``PROGRAM: warning: MESSAGE`` on
    stderr (not Python's file, line and source); other warnings as Python shows them."""
    shown = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, MtmlWarning):
            print(f"{program}: warning: {message}", file=file or sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def suggest(name: str, known: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


BAD_INPUT_EXIT_CODE = 2
"""Exit status of a command that refused its input (argparse's, for usage errors, too)."""


NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})
"""A write failed for want of space: the disk is full, or the user's quota is used up."""
UNUSABLE_PATH = frozenset(
    {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG}
)
"""An output path the file system refuses: read-only, not permitted, a file where a folder
must be (or the reverse), a name too long."""


def _file_in_the_way(path: Path) -> Path | None:
    """The first of ``path`` and its parents that is a file (where a folder was needed)."""
    return next((p for p in (path, *path.parents) if p.is_file()), None)


def output_problem(exc: OSError) -> str | None:
    """One message for a write the file system refused in a way the user can fix (no room
    left, a read-only or forbidden folder, a file where a folder must be): what happened and
    what to do. ``None`` for any other ``OSError``, which is a bug and keeps its traceback.

    Every file the package writes is written whole or not at all (:mod:`mtml_rl.io`), so a
    full disk loses nothing saved before it: the message says how to go on.
    """
    path = Path(exc.filename) if exc.filename else None
    where = f" {path}" if path is not None else ""
    if exc.errno in NO_ROOM:
        return (
            f"no room to write{where} ({exc.strerror}); free space on that disk and run the "
            "command again: what was saved before is whole (a run goes on from its last "
            "checkpoint with `mtml-rl train --resume RUN`, a grid skips its finished trials)"
        )
    if exc.errno not in UNUSABLE_PATH or path is None:
        return None
    blocker = _file_in_the_way(path) if exc.errno in (errno.ENOTDIR, errno.EEXIST) else None
    if blocker is not None:
        needed = "" if blocker == path else f" to write {path}"
        return f"{blocker} is a file, where a folder is needed{needed}; choose another output path"
    return f"cannot write {path} ({exc.strerror}); choose an output folder you can write to"


def exit_status(program: str, main: Callable[[], int | None]) -> int:
    """Run a command's ``main`` and return its exit status; when it refuses its input (an
    :class:`MtmlError`: a missing run folder, a damaged file, a bad name) or cannot write its
    output (:func:`output_problem`: a full disk, a read-only folder), or asks for more memory
    than there is (numpy's ``MemoryError``, torch's :data:`TORCH_CPU_OUT_OF_MEMORY`:
    ``--n-envs 10000000``), print one line
    ``PROGRAM: error: MESSAGE`` on stderr instead of a traceback and return 2.

    For the scripts under ``scripts/``: ``sys.exit(exit_status("name", main))``.
    """
    try:
        with one_line_warnings(program):
            return int(main() or 0)
    except MtmlError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except OSError as exc:
        problem = output_problem(exc)
        if problem is None:
            raise
        print(f"{program}: error: {problem}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except MemoryError as exc:
        print(f"{program}: error: {out_of_memory(str(exc))}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    except RuntimeError as exc:
        wanted = TORCH_CPU_OUT_OF_MEMORY.search(str(exc))
        if wanted is None:
            raise
        print(f"{program}: error: {out_of_memory(torch_allocation(int(wanted[1])))}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE


TORCH_CPU_OUT_OF_MEMORY = re.compile(
    r"DefaultCPUAllocator: can't allocate memory: you tried to allocate (\d+) bytes"
)
"""How torch's CPU allocator reports an allocation that failed (a ``RuntimeError``, where numpy
raises ``MemoryError``)."""


def torch_allocation(size: int) -> str:
    """``Unable to allocate 37.3 GiB for a torch tensor``: torch's failed allocation in numpy's
    words."""
    return f"Unable to allocate {size / 2**30:,.1f} GiB for a torch tensor"


def out_of_memory(detail: str) -> str:
    """The one-line message of an allocation that failed, with numpy's account of it (``Unable
    to allocate 19.1 GiB for an array with shape ...``) where there is one."""
    detail = f" ({detail})" if detail else ""
    return (
        f"out of memory{detail}; ask for less: smaller counts in the command (environments, "
        "episodes, bootstrap repetitions, batch or buffer sizes, trials at once)"
    )
