"""Taking a finished run further keeps its earlier final model.

``mtml-rl train --resume RUN --timesteps N`` trains past the run's budget and then replaces
``final/``; the model that earlier results came from is kept first, whole, as
``checkpoints/final_<steps>`` (for SAC and TD3 the periodic checkpoint at that step is a
different model: their last gradient step comes after it). A kill while it is being copied
leaves ``final/`` as it was and a temporary folder that the next resume removes before it
copies again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from training_helpers import assert_same_params, file_hashes, small_config

from mtml_rl.errors import CheckpointError
from mtml_rl.faults import FAULT_ENV
from mtml_rl.training import Run, resume, rundir, train
from mtml_rl.training.rundir import list_checkpoints

CLI = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())"]


def test_taking_a_run_further_keeps_its_earlier_final_model(tmp_path: Path) -> None:
    run = train(small_config(tmp_path / "run", timesteps=1024, save_freq=512), progress=False)
    final_before = file_hashes(run.path / "final")
    notes: list[str] = []
    resume(run.path, timesteps=1536, progress=False, note=notes.append)

    kept = run.path / "checkpoints" / "final_1024"
    assert file_hashes(kept) == final_before, "the earlier final model, byte for byte"
    assert file_hashes(run.path / "final") != final_before
    assert any(f"kept final/ of step 1024 as {kept}" in line for line in notes), notes
    earlier = Run.load(run.path, "final_1024")
    assert earlier.model.num_timesteps == 1024
    assert_same_params(earlier.model, run.model)  # the model train() returned at 1024 steps
    assert [c.steps for c in list_checkpoints(run.path)] == [512, 1024, 1536], "not a periodic checkpoint"

    resume(run.path, progress=False)  # finished at its budget: nothing trained, nothing kept
    resume(run.path, timesteps=2048, progress=False)
    assert [p.name for p in rundir.kept_finals(run.path)] == ["final_1024", "final_1536"]
    assert file_hashes(kept) == final_before
    with pytest.raises(CheckpointError, match=r"no checkpoint final_999; its checkpoints: .*final_1536"):
        Run.load(run.path, "final_999")


def test_a_resume_from_a_periodic_checkpoint_keeps_nothing(tmp_path: Path) -> None:
    """A run without a final model (stopped in training) has nothing to keep."""
    run_dir = tmp_path / "run"
    train(small_config(run_dir, timesteps=1024, save_freq=512), progress=False)
    for folder in (run_dir / "final", run_dir / "checkpoints" / "step_1024"):
        shutil.rmtree(folder)
    rundir.write_status(run_dir, "interrupted", 512)
    resume(run_dir, progress=False)
    assert rundir.kept_finals(run_dir) == []


@pytest.mark.slow
def test_a_kill_while_keeping_the_final_model_loses_nothing(tmp_path: Path) -> None:
    run = train(small_config(tmp_path / "run", timesteps=1024, save_freq=512), progress=False)
    final_before = file_hashes(run.path / "final")
    args = ["train", "--resume", str(run.path), "--timesteps", "1536", "--quiet"]
    env = {**os.environ, FAULT_ENV: "keep_final"}
    killed = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert file_hashes(run.path / "final") == final_before
    assert rundir.kept_finals(run.path) == []
    assert [p.name.startswith(".final_1024.") for p in (run.path / "checkpoints").glob(".*")] == [True]

    notes: list[str] = []
    longer = resume(run.path, progress=False, note=notes.append)
    assert longer.model.num_timesteps == 1536
    assert any("left by a process that was stopped" in line for line in notes), notes
    assert file_hashes(run.path / "checkpoints" / "final_1024") == final_before
    assert list((run.path / "checkpoints").glob(".*")) == []
