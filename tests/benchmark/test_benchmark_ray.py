"""The ray backend against a local Ray started by the test: one task per trial, results in
the benchmark folder, a rerun skips them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmark_helpers import CARTPOLE, tiny_grid

from mtml_rl.benchmark.runner import run_benchmark

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("ray"),
    # not importorskip: Ray is imported by the tests that run, not by every process that collects
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed"),
]


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A 2-CPU Ray on this machine; its address."""
    import ray

    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield str(context.address_info["gcs_address"])
    ray.shutdown()


def test_grid_runs_as_ray_tasks(tmp_path: Path, ray_address: str) -> None:
    """``dr`` and ``finetune``: a ``finetune`` task starts once its ``dr`` task has ended and
    deploys that run (handed over as the ``dr`` task's result, or packed by the driver where
    the run was trained in an earlier invocation)."""
    import ray

    fields = {"backend": "ray", "address": ray_address, "workers": None, "methods": ["dr", "finetune"]}
    tuned = {"finetune": {"finetune_timesteps": 512}}
    grid = tiny_grid(tmp_path / "bench", method_overrides=tuned, **fields)
    result = run_benchmark(grid, progress=False)
    assert result.ok, [r.error for r in result.records]
    names = ["CartPole-dr-s0", "CartPole-dr-s1", "CartPole-finetune-s0", "CartPole-finetune-s1"]
    assert sorted(result.ran) == names
    assert sorted(p.name for p in (grid.out_dir / "runs").iterdir()) == names[:2]
    for name in result.ran:
        run = grid.out_dir / "runs" / name.replace("finetune", "dr")
        assert json.loads((run / "run.json").read_text())["status"] == "finished"
        assert (grid.out_dir / "eval" / name / "results.json").is_file()
    assert result.comparison is not None and result.comparison.report.is_file()
    assert ray.is_initialized()  # a Ray it did not start is left running

    again = run_benchmark(grid, progress=False)
    assert again.ran == [] and sorted(again.skipped) == sorted(result.ran)
    longer = tiny_grid(
        tmp_path / "bench", method_overrides={"finetune": {"finetune_timesteps": 1024}}, **fields
    )
    third = run_benchmark(longer, progress=False)
    assert third.ok and sorted(third.ran) == names[2:] and sorted(third.skipped) == names[:2]


def test_cli_connects_to_the_cluster_by_address(tmp_path: Path, ray_address: str) -> None:
    """A separate driver (the CLI in a subprocess) joins the test's Ray by its address."""
    out = tmp_path / "bench"
    argv = ["benchmark", "--envs", CARTPOLE, "--methods", "dr", "--timesteps", "500", "--out", str(out)]
    argv += ["--backend", "ray", "--address", ray_address, "--no-eval", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "mtml_rl.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 trial(s): 1 finished (1 run now, 0 already done), 0 failed" in done.stdout
    assert json.loads((out / "runs" / "CartPole-dr-s0" / "run.json").read_text())["status"] == "finished"
