"""The wheel ships every spec and the typing marker, and the installed package finds its specs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mtml_rl

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once (offline when hatchling is installed, else in an isolated env)."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-isolation")
    result = subprocess.run([*command, str(REPO_ROOT)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(out.glob("mtml_rl-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_holds_every_spec_and_the_typing_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    specs = sorted(p.name for p in (REPO_ROOT / "envs").glob("*.yaml"))
    assert specs, "envs/ holds no spec"
    for spec in specs:
        assert f"mtml_rl/specs/builtin/{spec}" in names, f"{spec} is missing from the wheel"
    assert "mtml_rl/py.typed" in names
    assert "mtml_rl/__init__.py" in names


def test_packaged_specs_are_the_source_specs(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    for path in (REPO_ROOT / "envs").glob("*.yaml"):
        assert archive.read(f"mtml_rl/specs/builtin/{path.name}") == path.read_bytes()


def test_installed_package_registers_its_packaged_specs(wheel: Path, tmp_path: Path) -> None:
    """Unpacked wheel first on the path, outside the checkout: the ids come from ``mtml_rl/specs/builtin``."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import json, mtml_rl, gymnasium as gym;"
        "from mtml_rl.specs.spec import spec_dir;"
        "print(json.dumps({'file': mtml_rl.__file__, 'dir': str(spec_dir()),"
        "'ids': sorted(mtml_rl.builtin_specs()), 'made': gym.make('mtml/CartPole-v0').spec.id}))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    )
    found = json.loads(result.stdout)
    assert found["file"].startswith(str(site))
    assert found["dir"] == str(site / "mtml_rl" / "specs" / "builtin")
    assert found["ids"] == sorted(mtml_rl.builtin_specs())
    assert found["made"] == "mtml/CartPole-v0"
