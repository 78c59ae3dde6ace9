"""Looking at processes from tests, through ``/proc`` (Linux): children, and alive or not.

A process killed with its parent may stay a zombie until something reaps it; a zombie has
ended, so it counts as dead here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not (PROC / "self" / "stat").is_file(), reason="needs Linux /proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or ``None`` if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return sorted(found)


def wait_until_gone(pids: list[int], patience_s: float = 60.0) -> list[int]:
    """Wait (at most ``patience_s``) for every pid to end; the ones still alive then."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def kill_all(pids: list[int]) -> None:
    """SIGKILL whatever of ``pids`` still runs (test clean-up)."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
