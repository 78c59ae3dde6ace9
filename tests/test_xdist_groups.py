"""Parallel runs keep together what must stay together: under ``pytest -n 2 --dist loadgroup``
(as ``make test`` runs), the tests that share a module- or session-scoped fixture, and those
of one named ``xdist_group``, each run on a single worker (``tests/xdist_groups.py``).

A small suite runs in a subprocess; its verbose report names the worker of every test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("xdist")
TESTS = Path(__file__).resolve().parent

CONFTEST = """
import pytest
from pathlib import Path
from xdist_groups import assign_groups

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    assign_groups(items, root=Path(__file__).parent)

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


def workers_by_test(folder: Path) -> dict[str, set[str]]:
    """Run the suite in ``folder`` on two workers; the workers each test function ran on."""
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_a.py").write_text(MODULE_A)
    for name in ("b", "c"):
        (folder / f"test_{name}.py").write_text(MODULE_B.format(name))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # the outer run's options
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])
    argv = [sys.executable, "-m", "pytest", "-v", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"]
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
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
