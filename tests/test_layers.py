"""The package's import contract (pyproject ``[tool.importlinter]``): kept by the code, and
broken by an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")
pytestmark = pytest.mark.slow  # lint-imports in a process of its own; make test runs it over the tree too

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package in ``project`` (with its pyproject.toml)."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml."""
    shutil.copytree(ROOT / "mtml_rl", tmp_path / "mtml_rl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layers(project_copy: Path) -> None:
    done = lint_imports(project_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("tasks/task.py", "from mtml_rl.training import train"),
        ("rollouts/episodes.py", "import mtml_rl.evaluation.results"),
        ("training/run.py", "from mtml_rl.agents import load_agent"),
    ],
)
def test_an_upward_import_breaks_the_contract(project_copy: Path, module: str, upward: str) -> None:
    target = project_copy / "mtml_rl" / module
    target.write_text(target.read_text() + f"\n{upward}  # an upward import\n")
    done = lint_imports(project_copy)
    assert done.returncode != 0
    importer = "mtml_rl." + module.removesuffix(".py").replace("/", ".")
    assert "BROKEN" in done.stdout and importer in done.stdout, done.stdout
