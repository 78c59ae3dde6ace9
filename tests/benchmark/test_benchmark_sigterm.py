"""SIGTERM (``kill``, ``timeout``, a scheduler's cancel or preemption) ends a grid's driver as
Ctrl-C does: its unfinished trials are marked ``interrupted`` in the manifest, it exits 143
with one line and no traceback, and its workers end with it."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import yaml
from benchmark_helpers import CARTPOLE, TINY_TRAIN

from mtml_rl.lifetime import (
    TERMINATED_EXIT_CODE,
    Terminated,
    end_pool_workers,
    interruption,
    sigterm_interrupts,
)

CLI = "import sys; from mtml_rl.cli import main; sys.exit(main(sys.argv[1:]))"
"""``mtml-rl``, as its console script runs it."""
STARTUP_TIMEOUT_S = 180.0
"""How long the driver may take to start its worker's training (imports included)."""


def test_sigterm_raises_terminated_inside_and_is_restored_after() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert signal.getsignal(signal.SIGTERM) is before
    assert interruption(Terminated()) == ("terminated (SIGTERM)", TERMINATED_EXIT_CODE)
    assert interruption(KeyboardInterrupt()) == ("interrupted", 130)


def _trials(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "trials.json").read_text())
    return {t["name"]: t["status"] for t in manifest["trials"]}


def _wait_until_training(out: Path, process: subprocess.Popen[str]) -> None:
    run_file = out / "runs" / "CartPole-dr-s0" / "run.json"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not run_file.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the worker never started training"
        time.sleep(0.2)


@pytest.mark.slow
def test_sigterm_marks_the_running_trial_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    grid = {
        "envs": [CARTPOLE],
        "methods": ["dr"],
        "seeds": [0],
        "timesteps": 10_000_000,  # far more than the test waits for
        "out": str(out),
        "train": dict(TINY_TRAIN),
        "workers": 1,
        "evaluation": {"enabled": False},
    }
    config = tmp_path / "grid.yaml"
    config.write_text(yaml.safe_dump(grid))
    driver = subprocess.Popen(
        [sys.executable, "-c", CLI, "benchmark", "--config", str(config), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_training(out, driver)
        assert _trials(out) == {"CartPole-dr-s0": "scheduled"}
        driver.send_signal(signal.SIGTERM)
        # the trial would train for hours: the driver ends in time only if it killed its worker
        _, stderr = driver.communicate(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == TERMINATED_EXIT_CODE
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "mtml-rl benchmark: terminated (SIGTERM); finished trials are kept and stopped ones go on "
        "from their last checkpoints: run the same command again"
    )
    assert _trials(out) == {"CartPole-dr-s0": "interrupted"}


def test_ending_the_workers_returns_once_the_pool_is_closed() -> None:
    """The driver's exit then finds no pool thread still closing its pipes (the race behind a
    traceback after the one-line message on Python 3.11: see ``end_pool_workers``)."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(time.sleep, 600)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not future.running():
        assert time.monotonic() < deadline, "the worker never started its task"
        time.sleep(0.05)
    manager = pool._executor_manager_thread
    worker = next(iter(pool._processes.values()))
    assert manager is not None and manager.is_alive()
    end_pool_workers(pool)
    assert not manager.is_alive()
    assert not worker.is_alive()
