"""Parallel runs keep together what must stay together: under ``pytest -n 2 --dist loadgroup``
(as ``make test`` runs), the tests that share a module- or session-scoped fixture, and those
of one named ``xdist_group``, each run on a single worker (``tests/xdist_groups.py``).

A small suite runs in a subprocess; its verbose report names the worker of every test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from xdist_groups import load_durations

pytest.importorskip("xdist")
TESTS = Path(__file__).resolve().parent

CONFTEST = """
import pytest
from pathlib import Path
from xdist_groups import assign_groups, load_durations, order_for_workers

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    assign_groups(items, root=Path(__file__).parent)
    order_for_workers(items, load_durations(Path(__file__).parent / "durations.json"))

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a slow test")

@pytest.fixture(scope="session")
def shared():
    return object()
"""
MODULE_A = """
import pytest

@pytest.fixture(scope="module")
def built():
    return object()

@pytest.mark.parametrize("i", range(6))
def test_module_fixture(built, i):
    pass

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    pass
"""
MODULE_B = """
import pytest

@pytest.mark.xdist_group("ray")
@pytest.mark.parametrize("i", range(4))
def test_named_{0}(i):
    pass

@pytest.mark.parametrize("i", range(4))
def test_session_fixture_{0}(shared, i):
    pass
"""


def run_suite(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest ARGS`` on the small suite in ``folder``, which must pass.

    Its temporary folders go under ``folder``: pytest removes all but the newest three
    of its own folders in the system's temporary directory, which would be the outer run's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # the outer run's options
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *args,
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(folder / "tmp"),
    ]
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def workers_by_test(folder: Path) -> dict[str, set[str]]:
    """Run the suite in ``folder`` on two workers; the workers each test function ran on."""
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_a.py").write_text(MODULE_A)
    for name in ("b", "c"):
        (folder / f"test_{name}.py").write_text(MODULE_B.format(name))
    done = run_suite(folder, "-v", "-n", "2", "--dist", "loadgroup")
    workers: dict[str, set[str]] = defaultdict(set)
    for worker, test in re.findall(r"^\[(gw\d)\] .*PASSED (\S+?)\[", done.stdout, re.M):
        workers[test.split("::")[1]].add(worker)
    assert sum(1 for line in done.stdout.splitlines() if " PASSED " in line) == 28, done.stdout
    return workers


@pytest.mark.slow
def test_shared_fixtures_and_named_groups_each_run_on_one_worker(tmp_path: Path) -> None:
    workers = workers_by_test(tmp_path)
    assert workers["test_module_fixture"] != set() and len(workers["test_module_fixture"]) == 1
    assert len(workers["test_named_b"] | workers["test_named_c"]) == 1
    assert len(workers["test_session_fixture_b"] | workers["test_session_fixture_c"]) == 1
    assert set().union(*workers.values()) == {"gw0", "gw1"}  # the run was parallel


MODULE_TIMED = """
import pytest

@pytest.fixture(scope="module")
def built():
    return object()

def test_quick_first():
    pass

@pytest.mark.slow
def test_slow_alone():
    pass

@pytest.mark.parametrize("i", range(2))
def test_with_fixture(built, i):
    pass

@pytest.mark.slow
def test_slow_with_fixture(built):
    pass

@pytest.mark.slow
@pytest.mark.xdist_group("ray")
@pytest.mark.parametrize("i", range(2))
def test_named(i):
    pass

def test_listed_long():
    pass

def test_quick_last():
    pass
"""
RECORDED = {
    "test_t.py::test_listed_long": 10.0,
    "test_t.py::test_slow_with_fixture": 5.0,
    "test_t.py::test_renamed_since": 99.0,  # a recorded test that is no longer collected
}


def test_work_units_are_handed_out_longest_first_and_stay_whole(tmp_path: Path) -> None:
    """Collection order is the order ``--no-loadscope-reorder`` hands units out in: by
    expected seconds, recorded or (unlisted) 2 for a slow test and 0.05 for another, most
    first, ties as collected; each unit's tests together and in their order."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_t.py").write_text(MODULE_TIMED)
    (tmp_path / "durations.json").write_text(json.dumps({"seconds": RECORDED}))
    done = run_suite(tmp_path, "--collect-only", "-q")
    order = [line.removeprefix("test_t.py::") for line in done.stdout.splitlines() if "::" in line]
    assert order == [
        "test_listed_long",  # 10 s recorded
        "test_with_fixture[0]",  # the module fixture's unit: 5 s recorded + 2 x 0.05
        "test_with_fixture[1]",
        "test_slow_with_fixture",
        "test_named[0]",  # the named group: two unlisted slow tests, 2 x 2 s
        "test_named[1]",
        "test_slow_alone",  # 2 s
        "test_quick_first",  # 0.05 s each, as collected
        "test_quick_last",
    ]


@pytest.mark.parametrize("text", ["{", '{"times": {}}', '{"seconds": {"a": "soon"}}', "[1]"])
def test_a_garbled_durations_file_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "durations.json"
    path.write_text(text)
    with pytest.raises(pytest.UsageError, match=r"not a durations file .*record_test_durations\.py"):
        load_durations(path)


def test_without_a_durations_file_every_test_is_unlisted(tmp_path: Path) -> None:
    assert load_durations(tmp_path / "missing.json") == {}
