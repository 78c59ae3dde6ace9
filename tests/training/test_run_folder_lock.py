"""One writer per run folder: while ``mtml-rl train`` writes a run, a second train into the
same folder, ``--force``, ``--resume`` and an evaluation into the run are refused with the
holder's PID and exit code 2; the first run finishes intact; a lock left by a dead process
never blocks."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from training_helpers import CARTPOLE

from mtml_rl.cli.main import main
from mtml_rl.faults import ACTION_ENV, FAULT_ENV
from mtml_rl.locks import lock_file
from mtml_rl.training import Run, resume

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())"]
TINY = [
    "--env", CARTPOLE, "--timesteps", "1024", "--n-envs", "4", "--eval-freq", "512", "--eval-tasks", "1",
    "--save-freq", "512", "--quiet", "--hyperparams", "n_steps:64", "batch_size:64", "n_epochs:1",
]  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen[str], patience_s: float = 300.0) -> None:
    """Wait until ``path`` exists (the writer reached its fault point) or the writer ended."""
    deadline = time.monotonic() + patience_s
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"gave up waiting for {path.name}"
        time.sleep(0.05)


def start_training(run_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "train", "--out", str(run_dir), *TINY],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], pid: int) -> str:
    """Run the CLI in this process: exit 2, one line naming the holder's PID."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"is in use by PID {pid}" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0
    return err


def logged_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "logs" / "progress.csv", newline="") as handle:
        rows = csv.DictReader(handle)
        return [int(float(r["time/total_timesteps"])) for r in rows if r.get("time/total_timesteps")]


def test_a_second_writer_is_refused_and_the_first_finishes_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, release = tmp_path / "run", tmp_path / "release"
    env = {**os.environ, FAULT_ENV: "checkpoint", ACTION_ENV: f"wait:{release}"}
    first = start_training(run_dir, env)
    try:
        wait_for(release.with_name("release.waiting"), first)  # mid-way through its first checkpoint
        refused(capsys, ["train", "--out", str(run_dir), *TINY], first.pid)
        refused(capsys, ["train", "--out", str(run_dir), *TINY, "--force"], first.pid)
        refused(capsys, ["train", "--resume", str(run_dir), "--quiet"], first.pid)
        refused(capsys, ["evaluate", str(run_dir), "--episodes", "1"], first.pid)
        release.touch()
        _, stderr = first.communicate(timeout=600)
    finally:
        first.kill()
    assert first.returncode == 0, stderr[-3000:]
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": 1024}
    steps = logged_steps(run_dir)
    assert steps == sorted(steps) and steps[-1] == 1024, "one writer's log, no interleaved rows"
    assert not (run_dir / "evaluation").exists()
    assert Run.load(run_dir).model.num_timesteps == 1024
    assert not lock_file(run_dir).exists(), "the lock is released"


def test_a_lock_left_by_a_dead_process_never_blocks(tmp_path: Path) -> None:
    run_dir, release = tmp_path / "run", tmp_path / "release"
    env = {**os.environ, FAULT_ENV: "checkpoint@2", ACTION_ENV: f"wait:{release}"}
    first = start_training(run_dir, env)
    try:
        wait_for(release.with_name("release.waiting"), first)
        first.kill()  # SIGKILL: the lock file stays behind with the dead holder's record
        first.communicate()
    finally:
        first.kill()
    assert json.loads(lock_file(run_dir).read_text())["pid"] == first.pid
    assert resume(run_dir, progress=False).model.num_timesteps == 1024
