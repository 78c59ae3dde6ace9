"""Record how long each test takes, for the order in which parallel runs hand tests out.

Runs the test suite in this process, one test after another (no xdist workers, so that every
test's time is its own), and writes ``tests/durations.json``: the seconds of setup, call and
teardown of every test that took at least ``--min-seconds``, keyed by node id. ``make test``
hands the longest work units out first by these times (``tests/xdist_groups.py``); a test the
file does not list is still run, with a default estimate. Record again after adding or
renaming slow tests; the file is written only when every test passed, and atomically. Usage::

    python scripts/record_test_durations.py               # the whole suite: 10 minutes on 2 cores
    python scripts/record_test_durations.py --out d.json  # somewhere else
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import script_exit_status

REPO_ROOT = Path(__file__).resolve().parent.parent
DURATIONS_FILE = REPO_ROOT / "tests" / "durations.json"


class DurationRecorder:
    """A pytest plugin that adds up each test's setup, call and teardown seconds."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add one phase's duration to its test."""
        self.seconds[report.nodeid] += report.duration


def kept_durations(seconds: dict[str, float], min_seconds: float) -> dict[str, float]:
    """The tests of at least ``min_seconds``, their times rounded to 0.1 s, sorted by node id."""
    return {nodeid: round(value, 1) for nodeid, value in sorted(seconds.items()) if value >= min_seconds}


def main(argv: list[str] | None = None) -> int:
    """Run the tests, write the durations file if all passed; returns pytest's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DURATIONS_FILE, help="the file to write")
    parser.add_argument("--min-seconds", type=float, default=0.5, help="leave out quicker tests")
    parser.add_argument("pytest_args", nargs="*", help="what to run (default: the repository's tests)")
    args = parse_arguments(parser, argv)
    recorder = DurationRecorder()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread, as under make test
    what = args.pytest_args or [str(REPO_ROOT / "tests")]  # node ids relative to the repository
    pytest_args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", *what]
    code = pytest.main(pytest_args, plugins=[recorder])
    if code != pytest.ExitCode.OK:
        print(f"pytest exited with {int(code)}: {args.out} left as it was", file=sys.stderr)
        return int(code)
    kept = kept_durations(dict(recorder.seconds), args.min_seconds)
    document = {"recorded_with": "python scripts/record_test_durations.py", "min_seconds": args.min_seconds}
    atomic_write_text(args.out, json.dumps({**document, "seconds": kept}, indent=1) + "\n")
    print(f"{args.out}: the times of {len(kept)} test(s) of at least {args.min_seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("record_test_durations.py", main))
