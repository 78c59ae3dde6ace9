"""A script stopped by Ctrl-C or SIGTERM says so in one line with exit status 130 or 143
(:func:`~mtml_rl.lifetime.script_exit_status`), and a script's process pool ends its workers
at once instead of waiting for their jobs (:func:`~mtml_rl.lifetime.worker_pool`):
``compare_history.py`` under ``timeout`` printed a traceback from the pool's wait and then sat
until its worker had finished training."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_helpers import children, kill_all, needs_proc, wait_until_gone
from script_loading import SCRIPTS

from mtml_rl.errors import ConfigError
from mtml_rl.lifetime import (
    AFTER_SCRIPT_INTERRUPT,
    INTERRUPTED_EXIT_CODE,
    TERMINATED_EXIT_CODE,
    Terminated,
    script_exit_status,
    worker_pool,
)

OWN_HANDLING = {"reproduce.py", "tune.py"}
"""Scripts that report an interruption themselves, with what their grid or study keeps."""
EXAMPLES = {"train_example.py"}
"""Scripts that show the Python API as plainly as it can be used: no exit handling at all."""
STARTUP_TIMEOUT_S = 120.0


def test_an_interrupted_script_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert script_exit_status("tool.py", interrupted) == INTERRUPTED_EXIT_CODE == 130
    assert capsys.readouterr().err == f"tool.py: interrupted; {AFTER_SCRIPT_INTERRUPT}\n"


def test_a_terminated_script_says_so_with_what_it_keeps(capsys: pytest.CaptureFixture[str]) -> None:
    def terminated() -> int:
        raise Terminated("terminated by signal 15")

    assert script_exit_status("tool.py", terminated, "its runs are kept") == TERMINATED_EXIT_CODE == 143
    assert capsys.readouterr().err == "tool.py: terminated (SIGTERM); its runs are kept\n"


def test_a_script_still_refuses_bad_input_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def refused() -> int:
        raise ConfigError("no such spec")

    assert script_exit_status("tool.py", refused) == 2
    assert capsys.readouterr().err == "tool.py: error: no such spec\n"


def test_the_earlier_sigterm_handler_is_back_after_a_script() -> None:
    before = signal.getsignal(signal.SIGTERM)  # another test's (Ray's) may be installed
    assert script_exit_status("tool.py", lambda: 0) == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_every_script_reports_an_interruption_in_one_line() -> None:
    """Each script ends through :func:`script_exit_status` (or reports an interruption itself)."""
    unhandled = [
        path.name
        for path in sorted(SCRIPTS.glob("*.py"))
        if path.name not in OWN_HANDLING | EXAMPLES and "script_exit_status(" not in path.read_text()
    ]
    assert unhandled == []
    for name in OWN_HANDLING:
        assert "report_interruption(" in (SCRIPTS / name).read_text()


def test_every_script_pool_ends_its_workers_when_interrupted() -> None:
    """No script opens a process pool whose ``with`` waits for its running jobs."""
    direct = [
        path.name for path in sorted(SCRIPTS.glob("*.py")) if "ProcessPoolExecutor(" in path.read_text()
    ]
    assert direct == []


@pytest.mark.slow  # a worker process started and killed
def test_a_pool_left_by_an_interruption_kills_its_running_worker() -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            future = pool.submit(time.sleep, 600)
            while not future.running():
                assert time.monotonic() - started < STARTUP_TIMEOUT_S, "the worker never started its job"
                time.sleep(0.05)
            worker = next(iter(pool._processes.values()))  # type: ignore[attr-defined]
            raise KeyboardInterrupt
    assert not worker.is_alive()
    assert time.monotonic() - started < STARTUP_TIMEOUT_S  # not the job's ten minutes


@needs_proc
@pytest.mark.slow  # a fresh interpreter, trained in for a few seconds
def test_a_script_stopped_by_sigterm_ends_with_its_workers(tmp_path: Path) -> None:
    """``kill`` reaches the script, not its workers: the worker training a run is ended too."""
    argv = [
        sys.executable, str(SCRIPTS / "compare_history.py"), "--envs", "mtml/CartPole-v0", "--variants", "dr",
        "--seeds", "0", "--timesteps", "1000000", "--workers", "1", "--out", str(tmp_path / "runs"),
    ]  # fmt: skip
    script = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "runs"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not any(run.glob("*/logs")):  # the worker is training
        assert time.monotonic() < deadline and script.poll() is None, script.communicate()
        time.sleep(0.2)
    workers = children(script.pid)
    try:
        assert workers
        script.send_signal(signal.SIGTERM)
        _, err = script.communicate(timeout=60)
        assert script.returncode == TERMINATED_EXIT_CODE, err
        assert err == f"compare_history.py: terminated (SIGTERM); {AFTER_SCRIPT_INTERRUPT}\n"
        assert wait_until_gone(workers, patience_s=10) == []
    finally:
        kill_all([script.pid, *workers])
