"""A child that called ``exit_with_parent`` ends when its parent is killed with SIGKILL, with
either mechanism (the kernel's parent-death signal, or the watching thread)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from process_helpers import alive, kill_all, needs_proc, wait_until_gone

from mtml_rl.lifetime import ORPHAN_EXIT_CODE, PDEATHSIG, WATCH

pytestmark = pytest.mark.slow  # processes started and killed

PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
child.wait()
"""
CHILD = """
import os, sys, time
from mtml_rl.lifetime import exit_with_parent
print(exit_with_parent(os.getppid(), mechanism=sys.argv[1]), flush=True)
time.sleep(600)
"""


@needs_proc
@pytest.mark.parametrize("mechanism", [PDEATHSIG, WATCH])
def test_the_child_ends_with_its_killed_parent(mechanism: str) -> None:
    if mechanism == PDEATHSIG and not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux only")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mechanism], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid_text, used = parent.stdout.readline().split()
    child = int(pid_text)
    try:
        assert used == mechanism and alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until_gone([child]) == []
    finally:
        kill_all([child])


def test_an_orphan_ends_at_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from mtml_rl.lifetime import exit_with_parent; exit_with_parent(1)"],
        check=False,
        timeout=120,
    )
    assert done.returncode == ORPHAN_EXIT_CODE  # its parent is not PID 1: it counts as orphaned


def test_the_default_is_the_parent_death_signal_on_linux() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; from mtml_rl.lifetime import exit_with_parent as e; print(e(os.getppid()))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == PDEATHSIG
