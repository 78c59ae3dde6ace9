"""One writer per folder: an advisory OS file lock that the kernel releases when its holder dies.

A folder is locked through a lock file next to it, ``<parent>/.<name>.lock``, so that the
lock survives the folder being replaced whole (an evaluation written under a temporary name
and renamed into place, a run replaced with ``--force``) and can be taken before the folder
exists. The lock is ``flock(LOCK_EX | LOCK_NB)`` on POSIX and ``msvcrt.locking`` on Windows:
the operating system drops it when the holding process ends, however it ends (``kill -9``
included), so a lock file left by a dead process never blocks anyone. While it holds the
lock, the holder records its PID, host, command line and start time in the file, and a
refused writer's :class:`~mtml_rl.errors.FolderLockedError` names them. The lock file is
deleted on release.

Locks are re-entrant within a process (a benchmark trial that locks its run folder can call
code that locks it again) and are not shared with child processes.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mtml_rl.errors import ConfigError, FolderLockedError

POLL_S = 0.1
"""Seconds between attempts while waiting for a lock."""
PROBE_GRACE_S = 0.05
"""Seconds a refused writer keeps trying even when it does not wait (``wait_s=0``): a reader's
:func:`is_locked` takes the lock for an instant to see whether it is free, and must not be
mistaken for a writer (it refused about 1 in 250 writers that started during a probe loop)."""
PROBE_RETRY_S = 0.005
"""Seconds between attempts within :data:`PROBE_GRACE_S`."""
COMMAND_CHARS = 300
"""The holder's command line is recorded up to this many characters."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder's lock, as recorded in its lock file.

    :param pid: the holder's process id
    :param host: the holder's host name
    :param command: the holder's command line (shortened)
    :param since: when it took the lock (ISO 8601, UTC)
    """

    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        """``PID 123 (mtml-rl benchmark ..., since ...)``, naming the host if it is another."""
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"PID {self.pid}{where} ({self.command}, since {self.since})"


def lock_file(folder: str | Path) -> Path:
    """The lock file of ``folder``: ``<parent>/.<name>.lock`` of its real path, symbolic links
    resolved, so that every name of one folder (``runs/latest`` linking to ``runs/x``,
    ``runs/../runs/x``) takes the same lock."""
    path = Path(folder).expanduser().resolve()
    return path.parent / f".{path.name}.lock"


def read_holder(folder: str | Path) -> LockHolder | None:
    """The holder recorded in ``folder``'s lock file (``None``: no file, or nothing readable).

    The record may be that of a process that died; :func:`is_locked` tells whether the lock
    is held.
    """
    try:
        data = json.loads(lock_file(folder).read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


@dataclass
class _Held:
    """A lock this process holds: its open file and how many times it was taken."""

    fd: int
    count: int
    created: list[Path]
    pid: int


_HELD: dict[Path, _Held] = {}
_HELD_GUARD = threading.Lock()


class FolderLock:
    """An exclusive lock on a folder; a context manager.

    :param folder: the folder (it need not exist)
    :param wait_s: seconds to keep trying while another process holds it (0: fail at once)
    """

    def __init__(self, folder: str | Path, *, wait_s: float = 0.0) -> None:
        self.folder = Path(folder).expanduser().absolute()
        self.path = lock_file(self.folder)
        self.wait_s = wait_s
        self._owner_pid: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock, or raise :class:`FolderLockedError` naming the holder."""
        with _HELD_GUARD:
            held = _HELD.get(self.path)
            if held is not None and held.pid != os.getpid():  # inherited through fork: not ours
                del _HELD[self.path]
                held = None
            if held is not None:
                held.count += 1
                self._owner_pid = os.getpid()
                return self
        start = time.monotonic()
        deadline = start + max(self.wait_s, PROBE_GRACE_S)
        while True:
            acquired = self._try_acquire()
            if acquired is not None:
                with _HELD_GUARD:
                    _HELD[self.path] = acquired
                self._owner_pid = os.getpid()
                return self
            now = time.monotonic()
            if now >= deadline:
                raise self._refusal()
            time.sleep(PROBE_RETRY_S if now - start < PROBE_GRACE_S else POLL_S)

    def release(self) -> None:
        """Release the lock (once per :meth:`acquire`); the last release deletes the lock file."""
        if self._owner_pid != os.getpid():  # never taken here, or inherited through fork
            return
        self._owner_pid = None
        with _HELD_GUARD:
            held = _HELD.get(self.path)
            if held is None or held.pid != os.getpid():
                return
            held.count -= 1
            if held.count > 0:
                return
            del _HELD[self.path]
        self.path.unlink(missing_ok=True)  # while still locked: see _try_acquire
        os.close(held.fd)
        _remove_if_empty(held.created)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _try_acquire(self) -> _Held | None:
        """One attempt: the held lock, or ``None`` if another process holds it.

        A holder deletes the lock file before it unlocks it, so a process that opened the file
        before the deletion may lock a file no longer at the path; it checks that the file it
        locked is the one at the path and otherwise tries again.
        """
        created = _make_parents(self.path.parent)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                locked = _lock_or_refuse(fd, self.path)
            except ConfigError:
                os.close(fd)
                self.path.unlink(missing_ok=True)
                _remove_if_empty(created)
                raise
            if not locked:
                os.close(fd)
                _remove_if_empty(created)
                return None
            if _same_file(fd, self.path):
                _write_holder(fd)
                return _Held(fd, 1, created, os.getpid())
            os.close(fd)

    def _refusal(self) -> FolderLockedError:
        holder = None
        for _ in range(10):  # the holder writes its record right after taking the lock
            holder = read_holder(self.folder)
            if holder is not None:
                break
            time.sleep(POLL_S / 2)
        who = holder.describe() if holder is not None else "another process"
        return FolderLockedError(
            f"{self.folder} is in use by {who}; wait for it to finish or stop it, or choose another "
            "folder (a lock left by a process that died never blocks)",
            folder=self.folder,
            pid=holder.pid if holder is not None else None,
        )


@contextmanager
def lock_folder(folder: str | Path, *, wait_s: float = 0.0) -> Iterator[FolderLock]:
    """Hold ``folder``'s lock inside the block (see :class:`FolderLock`).

    :param folder: the folder (it need not exist)
    :param wait_s: seconds to keep trying while another process holds it (0: fail at once)
    :raises FolderLockedError: another live process holds it
    """
    lock = FolderLock(folder, wait_s=wait_s).acquire()
    try:
        yield lock
    finally:
        lock.release()


def is_locked(folder: str | Path) -> bool:
    """Whether a process (this one included) holds ``folder``'s lock now.

    The probe takes the lock for an instant where it is free (the only way to ask the
    operating system); a writer starting then keeps trying for :data:`PROBE_GRACE_S`."""
    path = lock_file(folder)
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is not None and held.pid == os.getpid():
            return True
    fd = _open_to_probe(path, folder)
    if fd is None:
        return False
    try:
        if _lock_or_refuse(fd, path):
            _unlock_fd(fd)
            return False
        return True
    finally:
        os.close(fd)


def _open_to_probe(path: Path, folder: str | Path) -> int | None:
    """The lock file ``path`` of ``folder`` opened to probe it, or ``None`` if there is none.
    Another user's lock file may be read-only to this process (a colleague's run in a shared
    folder), and so is one on a read-only file system (a lock a killed writer left in runs
    archived since): it is opened for reading then, which taking a lock needs no more of."""
    try:
        return os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise ConfigError(
            f"cannot tell whether another process writes {folder}: its lock file {path} is not "
            "readable to you (Permission denied); ask its owner to make it readable, or wait until "
            "it is gone (the writer deletes it when it finishes)"
        ) from None


def refuse_if_written(folder: str | Path, what: str) -> None:
    """Raise :class:`FolderLockedError` if another live process holds ``folder``'s lock.

    :param folder: the folder about to be read
    :param what: what the caller was about to do, for the message (``"load the run"``)
    """
    path = lock_file(folder)
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is not None and held.pid == os.getpid():
            return
    if not is_locked(folder):
        return
    holder = read_holder(folder)
    who = holder.describe() if holder is not None else "another process"
    raise FolderLockedError(
        f"{Path(folder)} is in use by {who}, which is still writing it; wait for it to finish "
        f"before you {what}",
        folder=Path(folder),
        pid=holder.pid if holder is not None else None,
    )


# --------------------------------------------------------------------------------------------
# the operating system's side
# --------------------------------------------------------------------------------------------
if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _WIN_LOCK_OFFSET = 1 << 20
    """The locked byte lies past the holder's record, so others can still read the record."""

    def _lock_fd(fd: int) -> bool:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.lseek(fd, 0, os.SEEK_SET)

else:
    import fcntl

    def _lock_fd(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


LOCKS_UNSUPPORTED = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS})
"""How a file system without file locks answers ``flock`` (an NFS mount whose lock daemon is
unreachable, some network and FUSE file systems)."""


def _lock_or_refuse(fd: int, path: Path) -> bool:
    """:func:`_lock_fd` of the lock file ``path``; a file system that refuses locks is a
    :class:`ConfigError` naming the folder and what to do, not an ``OSError``."""
    try:
        return _lock_fd(fd)
    except OSError as exc:
        if exc.errno not in LOCKS_UNSUPPORTED:
            raise
        raise ConfigError(
            f"cannot lock {path.parent}: its file system refuses file locks ({exc.strerror}); mtml-rl "
            "locks every folder it writes so that one process writes it at a time: write to a folder "
            "on a local disk"
        ) from None


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is the file at ``path``."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (at_path.st_dev, at_path.st_ino)


def _write_holder(fd: int) -> None:
    """Record this process as the holder in the (locked) lock file."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": shlex.join(sys.argv)[:COMMAND_CHARS] or "python",
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    data = (json.dumps(record) + "\n").encode()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, deepest first."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders a lock created if they are still empty (deepest first)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
