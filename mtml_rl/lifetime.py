"""How the processes of a run end: no worker outlives its driver, and SIGTERM ends a driver
as Ctrl-C does.

Child processes end with their parent. On Linux the kernel sends the child a signal the
moment its parent dies (``prctl(PR_SET_PDEATHSIG)``, set through ``ctypes``); elsewhere, or
if that call fails, a daemon thread in the child watches its parent and ends the child when
the parent is gone.
Either way the child ends like a ``kill -9``: whatever it was writing is left as a crash
leaves it, which every writer of this package survives.

A driver (``mtml-rl``, every script of ``scripts/``: :func:`script_exit_status`) runs its
command inside :func:`sigterm_interrupts`, so that the SIGTERM of ``kill``, ``timeout``, a batch scheduler's
cancel or preemption, or ``docker stop`` unwinds it as Ctrl-C does (:class:`Terminated` is a
:class:`KeyboardInterrupt`): a grid marks its unfinished trials ``interrupted`` in its
manifest, and folder locks are released, instead of the process vanishing mid-write.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from types import FrameType
from typing import Any

from mtml_rl.errors import exit_status

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``)."""
WATCH_INTERVAL_S = 0.5
"""Seconds between two looks at the parent of the watching thread."""
ORPHAN_EXIT_CODE = 128 + 9
"""Exit code of a child that ends because its parent died (as if killed by SIGKILL)."""
INTERRUPTED_EXIT_CODE = 128 + int(signal.SIGINT)
"""Exit code of a driver ended by Ctrl-C (130)."""
TERMINATED_EXIT_CODE = 128 + int(signal.SIGTERM)
"""Exit code of a driver ended by SIGTERM (the shell's convention: 143)."""
PDEATHSIG = "pdeathsig"
WATCH = "watch"


def exit_with_parent(parent_pid: int, *, mechanism: str | None = None) -> str:
    """End this process as soon as ``parent_pid`` (its parent) ends.

    :param parent_pid: the parent's process id, as the parent saw it (if this process was
        already orphaned when it gets here, it ends at once)
    :param mechanism: force ``"pdeathsig"`` or ``"watch"`` (default: pdeathsig where it works)
    :returns: the mechanism in use
    """
    used = WATCH
    if mechanism in (None, PDEATHSIG) and _set_parent_death_signal(signal.SIGKILL):
        used = PDEATHSIG
    elif mechanism == PDEATHSIG:
        raise OSError("prctl(PR_SET_PDEATHSIG) is not available on this platform")
    else:
        _start_watch(parent_pid)
    if not parent_alive(parent_pid):  # the parent died before the signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    return used


def parent_alive(parent_pid: int) -> bool:
    """Whether the parent ``parent_pid`` is alive: on POSIX, whether it is still this process's
    parent (an orphan is re-parented); on Windows, whether that process is still running."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_process_running(parent_pid)
    return os.getppid() == parent_pid


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

    def _windows_process_running(pid: int) -> bool:
        synchronize, wait_timeout = 0x00100000, 0x00000102
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(synchronize, False, pid)
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
        finally:
            kernel32.CloseHandle(handle)


def _set_parent_death_signal(sig: int) -> bool:
    """Arm ``prctl(PR_SET_PDEATHSIG, sig)``; whether it worked (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _start_watch(parent_pid: int) -> None:
    """A daemon thread that ends the process once its parent is gone."""

    def watch() -> None:
        while parent_alive(parent_pid):
            time.sleep(WATCH_INTERVAL_S)
        os._exit(ORPHAN_EXIT_CODE)

    threading.Thread(target=watch, name="mtml-rl parent watch", daemon=True).start()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by :func:`sigterm_interrupts`; a
    :class:`KeyboardInterrupt`, so that whatever handles Ctrl-C handles it too."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"terminated by signal {signum}")


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread; the previous
    handler is restored on leaving. Off the main thread (where Python cannot set signal
    handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:  # None: a handler set outside Python (an embedding host), which cannot be restored
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def interruption(exc: KeyboardInterrupt) -> tuple[str, int]:
    """How a driver reports ``exc``: ``("terminated (SIGTERM)", 143)`` for :class:`Terminated`,
    ``("interrupted", 130)`` for Ctrl-C."""
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM)", TERMINATED_EXIT_CODE
    return "interrupted", INTERRUPTED_EXIT_CODE


def report_interruption(prog: str, exc: KeyboardInterrupt, next_step: str) -> int:
    """Print ``"<prog>: interrupted; <next_step>"`` (or ``terminated (SIGTERM)``) on stderr, one
    line, and return the exit code (130 or 143)."""
    how, code = interruption(exc)
    print(f"{prog}: {how}; {next_step}", file=sys.stderr)
    return code


AFTER_SCRIPT_INTERRUPT = "what it had not yet printed or written is lost; run the same command again"
"""What a script says after Ctrl-C or SIGTERM, unless it keeps more (:func:`script_exit_status`)."""


def script_exit_status(
    program: str, main: Callable[[], int | None], after_interrupt: str = AFTER_SCRIPT_INTERRUPT
) -> int:
    """:func:`~mtml_rl.errors.exit_status` for a script of ``scripts/``, with Ctrl-C and the
    SIGTERM of ``kill`` or ``timeout`` (:func:`sigterm_interrupts`) reported in one line,
    ``PROGRAM: interrupted; AFTER_INTERRUPT``, and exit status 130 (143) instead of a
    traceback from wherever the script was (a process pool's wait, an SB3 rollout).

    :param after_interrupt: what is kept and how to go on (a script whose runs resume says so)
    """
    try:
        with sigterm_interrupts():
            return exit_status(program, main)
    except KeyboardInterrupt as exc:
        return report_interruption(program, exc, after_interrupt)


MANAGER_EXIT_TIMEOUT_S = 30.0
"""How long :func:`end_pool_workers` waits for the pool's manager thread once its workers are killed."""


def end_pool_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers at once (Ctrl-C, SIGTERM, an error of
    the driver): the running tasks end as a crash ends them, which every writer of this
    package survives, instead of the driver waiting, at its exit, for tasks of hours to finish.

    Returns once the pool's manager thread has ended (it does so as soon as it sees its workers
    dead), so that the interpreter's exit finds the pool wholly closed: in Python versions
    without the fix of CPython gh-125451 (3.11 among them), the exit hook of
    ``concurrent.futures`` could write to the manager's wake-up pipe while that thread was
    closing it and print a traceback (``OSError: Bad file descriptor``) after the driver's
    one-line message."""
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
    kill_workers = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill_workers is not None:
        kill_workers()
    else:  # the pool's own record of its processes (shutdown forgets it)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    if manager is not None:
        manager.join(MANAGER_EXIT_TIMEOUT_S)


def _start_worker(parent_pid: int, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    exit_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def worker_pool(
    max_workers: int,
    *,
    mp_context: BaseContext | None = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[ProcessPoolExecutor]:
    """A :class:`ProcessPoolExecutor` for a script's jobs whose workers end with this process
    (:func:`exit_with_parent`, before ``initializer``) and which, when the block is left by an
    exception (Ctrl-C, SIGTERM under :func:`sigterm_interrupts`, a job's error), kills its
    workers at once (:func:`end_pool_workers`). The pool's own ``with`` waits for the running
    jobs instead: a script stopped by ``kill`` or ``timeout`` (whose signal reaches it, not its
    workers) sat until each worker had finished its hours of training."""
    pool = ProcessPoolExecutor(
        max_workers,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )
    try:
        yield pool
    except BaseException:
        end_pool_workers(pool)
        raise
    pool.shutdown(wait=True)
