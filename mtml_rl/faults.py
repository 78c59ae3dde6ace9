"""Fault injection for tests: a process kills itself, or waits, at a named point of its work.

Code that writes files calls :func:`fault_point` at the moments a crash would hurt most
(inside a checkpoint being written, between phases). Unless the environment variable
:data:`FAULT_ENV` names that point, the call does nothing. Set it to ``POINT`` or
``POINT@N`` (the N-th time the point is reached; 1 by default), and :data:`ACTION_ENV` to
``kill`` (SIGKILL, the default: nothing is cleaned up, as after a power cut or the OOM
killer), ``wait:FILE`` (create ``FILE.waiting``, then block until ``FILE`` exists: a test
holds a writer mid-run) or ``enospc`` (the write fails as on a full disk: ``OSError`` with
``errno.ENOSPC``, which the process handles as it would the real one).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

FAULT_ENV = "MTML_RL_FAULT"
"""``POINT`` or ``POINT@N``: where the process fails."""
ACTION_ENV = "MTML_RL_FAULT_ACTION"
"""``kill`` (default) or ``wait:FILE``."""
WAIT_POLL_S = 0.05
"""Seconds between looks for the file a waiting process waits for."""

_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Fail here if :data:`FAULT_ENV` names ``name`` (and this is the N-th time it is reached).

    :param name: the point, e.g. ``checkpoint``, ``best``, ``final``, ``phase2``
    """
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != int(nth or 1):
        return
    action = os.environ.get(ACTION_ENV, "kill")
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if action.startswith("wait:"):
        release = Path(action[len("wait:") :])
        release.with_name(release.name + ".waiting").touch()
        while not release.exists():
            time.sleep(WAIT_POLL_S)
        return
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
