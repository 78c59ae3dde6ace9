"""Off-policy runs keep one replay buffer: the newest periodic checkpoint's (the one a resume
reads). Older checkpoints drop theirs as soon as a newer one is whole, crash-safely; a resume
drops the ones a run saved before this kept, or a killed process left behind."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from training_helpers import PENDULUM, small_config

from mtml_rl.faults import FAULT_ENV
from mtml_rl.io import lists_file
from mtml_rl.training import resume, rundir, train

pytestmark = pytest.mark.slow
train_module = importlib.import_module("mtml_rl.training.train")  # the package exports train()

SAC = {
    "learning_starts": 64,
    "batch_size": 32,
    "buffer_size": 4096,
    "policy_kwargs": {"net_arch": [16]},
}
"""A cheap SAC whose buffer still holds every step of the run."""
STEPS = [128, 256, 384, 512]
"""The periodic checkpoints of a 512-step run saved every 128 steps."""


def checkpoints_with_buffer_files(run_dir: Path) -> list[int]:
    return [s for s in STEPS if (rundir.checkpoint_dir(run_dir, s) / rundir.REPLAY_FILE).is_file()]


def assert_one_buffer_at(run_dir: Path, steps: int) -> None:
    """Every checkpoint verifies; only the one of ``steps`` keeps a buffer, listed in its manifest."""
    for s in STEPS:
        folder = rundir.checkpoint_dir(run_dir, s)
        assert rundir.checkpoint_problem(folder) is None, s
        assert rundir.has_replay_buffer(folder) is (s == steps), s
        assert lists_file(folder, rundir.REPLAY_FILE) is (s == steps), s
    assert checkpoints_with_buffer_files(run_dir) == [steps]


def test_only_the_newest_checkpoint_keeps_the_replay_buffer(tmp_path: Path) -> None:
    config = small_config(
        tmp_path / "run", env=PENDULUM, method="dr", algo="sac", n_envs=1, timesteps=512, save_freq=128,
        hyperparams=SAC,
    )  # fmt: skip
    run = train(config, progress=False)
    assert_one_buffer_at(run.path, 512)
    assert not rundir.has_replay_buffer(run.path / "final")


def test_a_resume_drops_the_buffers_an_earlier_process_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose checkpoints each kept a buffer (as before this was done) keeps only the
    buffer of the checkpoint it goes on from once resumed, with no newer checkpoint saved;
    that buffer is read."""
    run_dir = tmp_path / "run"
    config = small_config(
        run_dir, env=PENDULUM, method="dr", algo="sac", n_envs=1, timesteps=384, save_freq=128,
        hyperparams=SAC,
    )  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(rundir, "drop_replay_buffers_before", lambda path, steps: [])
        train(config, progress=False)
    assert checkpoints_with_buffer_files(run_dir) == [128, 256, 384]
    notes: list[str] = []
    resumed = resume(run_dir, timesteps=448, progress=False, note=notes.append)
    assert resumed.model.num_timesteps == 448
    assert not any("replay buffer" in line for line in notes), notes  # step 384's was read
    assert checkpoints_with_buffer_files(run_dir) == [384]
    assert all(rundir.checkpoint_problem(rundir.checkpoint_dir(run_dir, s)) is None for s in STEPS[:3])


CLI = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())"]
TINY_SAC = [
    "--env", PENDULUM, "--method", "dr", "--algo", "sac", "--timesteps", "512", "--n-envs", "1",
    "--save-freq", "128", "--eval-freq", "0", "--quiet", "--hyperparams",
    *(f"{key}:{value}" for key, value in SAC.items() if key != "policy_kwargs"),
]  # fmt: skip


def cli(args: list[str], fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault is not None:
        env[FAULT_ENV] = fault
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def test_a_run_killed_while_dropping_a_buffer_verifies_and_resumes(tmp_path: Path) -> None:
    """Killed between taking step 384's buffer out of its manifest and deleting the file (as
    step 512 is saved): step 384 still verifies and its file is not trusted; the resume goes
    on from step 512 with its buffer and deletes the file left behind."""
    run_dir = tmp_path / "run"
    done = cli(["train", "--out", str(run_dir), *TINY_SAC], fault="drop_replay@3")
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    left = rundir.checkpoint_dir(run_dir, 384)
    assert rundir.checkpoint_problem(left) is None
    assert (left / rundir.REPLAY_FILE).is_file() and not rundir.has_replay_buffer(left)
    assert checkpoints_with_buffer_files(run_dir) == [384, 512]
    done = cli(["train", "--resume", str(run_dir), "--quiet"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replay buffer" not in done.stderr, done.stderr
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": 512}
    assert_one_buffer_at(run_dir, 512)
