"""Folder locks: a second writer is refused with the holder's PID, a dead holder never blocks,
the lock is re-entrant in a process and leaves no file behind."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtml_rl import locks
from mtml_rl.cli.main import main as cli_main
from mtml_rl.errors import ConfigError, FolderLockedError, MtmlError
from mtml_rl.locks import FolderLock, is_locked, lock_file, lock_folder, read_holder, refuse_if_written

HOLDER = """
import sys
from mtml_rl.locks import lock_folder
with lock_folder(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock of ``tmp_path / "folder"`` until its stdin gets a line."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "folder"), "--flag"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.mark.slow
def test_a_second_writer_is_refused_with_the_holders_pid(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(FolderLockedError) as caught:
        FolderLock(tmp_path / "folder").acquire()
    assert isinstance(caught.value, MtmlError)  # the CLI exits 2
    assert caught.value.pid == holder.pid
    assert f"PID {holder.pid}" in str(caught.value) and "--flag" in str(caught.value)
    assert is_locked(tmp_path / "folder")
    recorded = read_holder(tmp_path / "folder")
    assert recorded is not None and recorded.pid == holder.pid


@pytest.mark.slow
def test_every_name_of_the_folder_takes_the_same_lock(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    """A symbolic link to the held folder, or a path through ``..``, is the same folder: a
    second writer by that name is refused too (a link once let a resume and an evaluation
    write one run at the same time)."""
    (tmp_path / "folder").mkdir(exist_ok=True)
    (tmp_path / "latest").symlink_to(tmp_path / "folder")
    for name in (tmp_path / "latest", tmp_path / "folder" / ".." / "folder"):
        assert lock_file(name) == lock_file(tmp_path / "folder")
        with pytest.raises(FolderLockedError, match=f"PID {holder.pid}"):
            FolderLock(name).acquire()


@pytest.mark.slow
def test_a_killed_holder_never_blocks(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    stale = read_holder(tmp_path / "folder")
    assert stale is not None and stale.pid == holder.pid  # its record is left behind
    assert not is_locked(tmp_path / "folder")
    with lock_folder(tmp_path / "folder"):
        recorded = read_holder(tmp_path / "folder")
        assert recorded is not None and recorded.pid == os.getpid()
    assert not lock_file(tmp_path / "folder").exists()


@pytest.mark.slow
def test_a_waiting_writer_gets_the_lock_when_the_holder_ends(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    got: list[int] = []

    def wait_for_it() -> None:
        with lock_folder(tmp_path / "folder", wait_s=120):
            got.append(os.getpid())

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    waiter.join()
    assert got == [os.getpid()]


PROBER = """
import sys
from mtml_rl.locks import is_locked
print("probing", flush=True)
while True:
    is_locked(sys.argv[1])
"""


@pytest.mark.slow
def test_a_readers_probe_never_refuses_a_writer(tmp_path: Path) -> None:
    """:func:`is_locked` takes a free lock for an instant to tell that it is free: a writer
    starting in that instant was refused, naming "another process" (24 of 5,000 writers
    beside a probing loop here, 80 of 20,000 in a longer run)."""
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBER, str(tmp_path / "folder")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert prober.stdout is not None and prober.stdout.readline().strip() == "probing"
        refused = 0
        for _ in range(2000):
            try:
                with lock_folder(tmp_path / "folder"):
                    pass
            except FolderLockedError:
                refused += 1
        assert prober.poll() is None  # it probed throughout
    finally:
        prober.kill()
        prober.wait()
    assert refused == 0


def test_reentrant_in_one_process_and_nothing_left_behind(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "folder"
    with lock_folder(folder):
        assert lock_file(folder).is_file() and not folder.exists()
        with lock_folder(folder):  # a nested writer in the same process
            assert is_locked(folder)
        assert is_locked(folder)  # still held by the outer block
    assert not is_locked(folder)
    assert not (tmp_path / "a").exists()  # the parents it created, empty, are removed
    with lock_folder(folder):
        folder.mkdir()
    assert folder.is_dir() and not lock_file(folder).exists()


def test_the_lock_is_not_shared_with_a_forked_child(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    with lock_folder(tmp_path / "folder"):
        pid = os.fork()
        if pid == 0:  # the child: refused, and the parent's lock file untouched
            code = 1
            try:
                FolderLock(tmp_path / "folder").acquire()
            except FolderLockedError as exc:
                code = 0 if exc.pid == os.getppid() else 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lock_file(tmp_path / "folder").is_file() and is_locked(tmp_path / "folder")


def _lock_file_not_writable(
    monkeypatch: pytest.MonkeyPatch, folder: Path, *, readable: bool = True, why: int = errno.EACCES
) -> None:
    """Open ``folder``'s lock file as a user other than its owner would (``EACCES``), or on a
    read-only file system (``EROFS``): not for writing (and, unless ``readable``, not at all).
    Tests run as root, whom permission bits do not stop, and cannot mount file systems."""
    real_open = os.open
    path = str(lock_file(folder))

    def open_as_another_user(name: str | Path, flags: int, *args: int) -> int:
        if str(name) == path and os.path.exists(path) and (flags & os.O_RDWR or not readable):
            raise OSError(why, os.strerror(why), path)
        return real_open(name, flags, *args)

    monkeypatch.setattr(locks.os, "open", open_as_another_user)


@pytest.mark.slow
@pytest.mark.parametrize("why", [errno.EACCES, errno.EROFS], ids=["another-user", "read-only"])
def test_a_reader_who_may_not_write_the_lock_file_still_sees_the_writer(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch, why: int
) -> None:
    """A colleague's run in a shared folder: its lock file is the writer's, ``0o644``. The probe
    opened it for writing, and ``mtml-rl evaluate`` of the run (to another output folder) said
    ``cannot write .../.run.lock (Permission denied); choose an output folder you can write
    to`` while the run trained (found with a second user); a lock file on a read-only mount
    (left by a killed writer) said so with ``Read-only file system``, and the run could not be
    evaluated at all. The probe reads it instead."""
    folder = tmp_path / "folder"
    _lock_file_not_writable(monkeypatch, folder, why=why)
    assert is_locked(folder)
    with pytest.raises(FolderLockedError, match=f"PID {holder.pid}"):
        refuse_if_written(folder, "load the run")
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    assert not is_locked(folder)


@pytest.mark.slow
def test_a_lock_file_the_reader_may_not_read_is_named(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    _lock_file_not_writable(monkeypatch, folder, readable=False)
    with pytest.raises(ConfigError) as caught:
        is_locked(folder)
    message = str(caught.value)
    assert message.startswith(f"cannot tell whether another process writes {folder}: its lock file ")
    assert "not readable to you (Permission denied)" in message and "\n" not in message


def test_a_lock_file_has_the_permissions_the_umask_gives(tmp_path: Path) -> None:
    """With a umask of ``002``, a group sharing a results folder can take its writers' locks."""
    old = os.umask(0o002)
    try:
        with lock_folder(tmp_path / "folder"):
            assert lock_file(tmp_path / "folder").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_a_file_system_without_locks_is_named_and_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``flock`` on an NFS mount whose lock daemon is unreachable fails with ``ENOLCK``: that was
    a traceback from every command that writes; it is one message naming the folder."""

    def refused(fd: int) -> bool:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(locks, "_lock_fd", refused)
    folder = tmp_path / "new" / "run"
    with pytest.raises(
        ConfigError, match=r"^cannot lock .*new: its file system refuses file locks \(No locks"
    ):
        lock_folder(folder).__enter__()
    assert list(tmp_path.iterdir()) == []  # no lock file, no parent made for it
    argv = ["train", "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", "64", "--out", str(folder)]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtml-rl train: error: cannot lock ") and err.count("\n") == 1
    assert "write to a folder on a local disk" in err and list(tmp_path.iterdir()) == []
