"""``scripts/record_test_durations.py``: the times of a suite's tests, written only when all pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "record_test_durations.py"
SUITE = """
import time

def test_sleeps():
    time.sleep(0.3)

def test_quick():
    pass

def test_maybe_fails():
    assert {ok}
"""


def record(suite: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """The script on ``suite``, keeping tests of at least 0.2 s, writing ``out``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    argv = [sys.executable, str(SCRIPT), "--out", str(out), "--min-seconds", "0.2", str(suite)]
    return subprocess.run(argv, cwd=suite, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_slow_tests_times_are_written(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE.format(ok=True))
    done = record(tmp_path, tmp_path / "durations.json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    seconds = json.loads((tmp_path / "durations.json").read_text())["seconds"]
    assert list(seconds) == ["test_suite.py::test_sleeps"]  # the others took under 0.2 s
    assert 0.3 <= seconds["test_suite.py::test_sleeps"] < 5
    assert "durations.json: the times of 1 test(s) of at least 0.2 s" in done.stdout


def test_a_failing_suite_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE.format(ok=False))
    out = tmp_path / "durations.json"
    out.write_text('{"seconds": {}}\n')
    done = record(tmp_path, out)
    assert done.returncode == 1 and "left as it was" in done.stderr
    assert out.read_text() == '{"seconds": {}}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".durations")] == []
