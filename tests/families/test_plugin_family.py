"""A family from a package of its own, found by its entry point in every process.

The example package ``examples/family_plugin`` is installed into a temporary folder (its
module, and a ``dist-info`` whose ``entry_points.txt`` is generated from the package's own
``pyproject.toml``), which goes on ``PYTHONPATH`` of ``mtml-rl`` subprocesses. Nothing of
mtml-rl knows the family: it trains and evaluates through the CLI, through a local
benchmark of two spawned workers and through the Ray backend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN = REPO_ROOT / "examples" / "family_plugin"
SPEC = PLUGIN / "Drift.yaml"
TINY_TRAIN = {"n_envs": 4, "eval_freq": 0, "save_freq": 0, "hyperparams": {"n_steps": 64, "n_epochs": 1}}

pytestmark = pytest.mark.slow
tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package installed into a folder of its own (module and dist-info).

    A few small files, made for each test: a module-scoped fixture would tie this module's
    tests to one worker of a parallel run, and with them to the Ray tests' group."""
    site = tmp_path_factory.mktemp("site")
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    shutil.copytree(PLUGIN / "src" / "mtml_drift", site / "mtml_drift")
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines += [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items())]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


def mtml(site: Path | None, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mtml-rl ARGS`` in a subprocess, with ``site`` on its ``PYTHONPATH`` (if given)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must have succeeded."""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_family_is_unknown_without_the_package(tmp_path: Path) -> None:
    done = mtml(None, tmp_path, "list", "drift")
    assert done.returncode == 2 and "unknown environment id or family 'drift'" in done.stderr


def test_cli_lists_trains_and_evaluates_the_family(site: Path, tmp_path: Path) -> None:
    listed = ok(mtml(site, tmp_path, "list", "drift"))
    assert "drift: numpy family, an installed package's entry point 'mtml_drift.families:Drift'" in listed
    assert "velocity added to every command" in listed
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY_TRAIN))
    for method in ("dr", "oracle"):
        args = ["train", "--env", str(SPEC), "--method", method, "--timesteps", "1024", "--seed", "0"]
        ok(mtml(site, tmp_path, *args, "--config", "config.yaml", "--out", f"runs/{method}", "--quiet"))
        spec = yaml.safe_load((tmp_path / "runs" / method / "spec.yaml").read_text())
        assert spec["family"] == "mtml_drift.families:Drift"  # the run's spec finds the family anywhere
    args = ["evaluate", "runs/dr", "runs/oracle", "--split", "test-interpolation", "--episodes", "1"]
    ok(mtml(site, tmp_path, *args, "--bootstrap-reps", "50", "--out", "evaluation", "--quiet"))
    results = json.loads((tmp_path / "evaluation" / "results.json").read_text())
    assert {t["reference_source"] for t in results["tasks"]} == {"oracle"}
    # the family's documented returns reach the evaluation: 50-step episodes, -0.02 per step
    assert {(t["family_reference"], t["solved_return"]) for t in results["tasks"]} == {(-0.2, -1.0)}
    assert "| drift | held within 2 cm of the origin" in (tmp_path / "evaluation" / "report.md").read_text()
    assert "dr" in {a["label"] for a in results["aggregates"]}
    assert len(results["episodes"]) == 2 * len(results["tasks"]) == 2 * 4


def grid(tmp_path: Path, **fields: object) -> Path:
    """A benchmark grid file: Drift x (dr, oracle) x seed 0, tiny budgets."""
    data = {
        "envs": [str(SPEC)],
        "methods": ["dr", "oracle"],
        "seeds": [0],
        "timesteps": 1024,
        "out": str(tmp_path / "bench"),
        "train": TINY_TRAIN,
        "threads_per_worker": 1,
        "evaluation": {
            "splits": ["test-interpolation"],
            "episodes": 1,
            "bootstrap_reps": 50,
            "figures": False,
        },
        **fields,
    }
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def check_benchmark(done: subprocess.CompletedProcess[str], bench: Path) -> None:
    """Both trials trained and evaluated in their workers, and the comparison was written."""
    manifest = json.loads((bench / "trials.json").read_text())
    assert [t["status"] for t in manifest["trials"]] == ["finished", "finished"], manifest["trials"]
    for method in ("dr", "oracle"):
        assert (bench / "eval" / f"Drift-{method}-s0" / "results.json").is_file()
    assert "2 trial(s): 2 finished" in ok(done)
    assert (bench / "report" / "report.md").is_file()


def test_a_local_benchmark_of_two_spawned_workers(site: Path, tmp_path: Path) -> None:
    done = mtml(site, tmp_path, "benchmark", "--config", str(grid(tmp_path, workers=2)), "--quiet")
    check_benchmark(done, tmp_path / "bench")


@pytest.mark.xdist_group("ray")
def test_the_ray_backend(site: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    done = mtml(site, tmp_path, "benchmark", "--config", str(grid(tmp_path, backend="ray")), "--quiet")
    check_benchmark(done, tmp_path / "bench")
