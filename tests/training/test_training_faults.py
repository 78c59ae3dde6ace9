"""Fault injection: ``mtml-rl train`` of a tiny ``adapt`` run is killed with SIGKILL at the
points where a crash hurts most (inside a periodic checkpoint, ``best/``, ``final/``, phase
2's checkpoint, and a resume's start-up); each time ``mtml-rl train --resume`` completes the
run, with nothing lost: the final folder verifies, the agent evaluates, no temporary folder
is left, the logs hold each step once, and phase 2 goes on from its last round."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mtml_rl.adaptation.phase2 import phase2_slots
from mtml_rl.agents import load_agent
from mtml_rl.faults import ACTION_ENV, FAULT_ENV
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, rundir

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())"]
TOTAL = 512
"""Policy steps of the tiny run (4 slots x 32 steps per rollout: 4 rollouts)."""
TINY_DR = [
    "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", str(TOTAL), "--n-envs", "4",
    "--save-freq", "128", "--eval-freq", "256", "--eval-tasks", "1", "--quiet",
    "--hyperparams", "n_steps:32", "batch_size:64", "n_epochs:1",
]  # fmt: skip
"""The tiny run, of ``dr``."""
TINY = [
    *TINY_DR, "--method", "adapt",
    "--adapt-timesteps", "256", "--adapt-iterations", "2", "--adapt-epochs", "1",
]  # fmt: skip
"""The tiny run, of ``adapt``, with a tiny phase 2."""
PHASE2_SLOTS = phase2_slots(4, 256, 2)
PHASE2_ROUND = (256 // (2 * PHASE2_SLOTS)) * PHASE2_SLOTS
"""Phase-2 steps per round (256 steps in 2 rounds, each a whole number of steps per slot)."""


def cli(args: list[str], fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault is not None:
        env[FAULT_ENV] = fault
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def killed(run_dir: Path, fault: str, args: list[str] | None = None) -> None:
    """Run ``args`` (default: train the tiny run) and expect it to die by SIGKILL at ``fault``."""
    done = cli(args or ["train", "--out", str(run_dir), *TINY], fault)
    assert done.returncode == -signal.SIGKILL, (fault, done.returncode, done.stderr[-3000:])


def logged(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "logs" / "progress.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r.get("time/total_timesteps")]


def assert_whole(run_dir: Path) -> None:
    """The run is finished, verifies, evaluates, and nothing of the crash is left."""
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": TOTAL}
    assert rundir.checkpoint_problem(run_dir / "final", ("adaptation.pt",)) is None
    hidden = [p for p in run_dir.rglob(".*") if not p.name.endswith(".lock")]
    assert hidden == [], "temporary folders left behind"
    assert not rundir.post_train_dir(run_dir).exists(), "phase 2's progress is dropped once it is in final/"
    rows = logged(run_dir)
    steps = [int(float(r["time/total_timesteps"])) for r in rows]
    assert steps == sorted(steps), "a step logged by the killed process shows again"
    phase2 = [s for s, r in zip(steps, rows, strict=True) if r.get("adapt/regression_loss")]
    assert phase2 == [TOTAL + PHASE2_ROUND, TOTAL + 2 * PHASE2_ROUND], "each phase-2 round logged once"
    run = Run.load(run_dir)
    assert run.model.num_timesteps == TOTAL
    assert type(load_agent(run)).__name__ == "AdaptAgent"
    records = run.evaluate(tasks=build_splits(run.spec)["test-interpolation"].tasks[:2])
    assert records and all(r.length > 0 for r in records)


def resumed(run_dir: Path, fault: str | None = None) -> str:
    """Resume the run (expecting it to die at ``fault`` if given); what it said."""
    done = cli(["train", "--resume", str(run_dir), "--quiet"], fault)
    expected = 0 if fault is None else -signal.SIGKILL
    assert done.returncode == expected, (fault, done.returncode, done.stderr[-3000:])
    return done.stderr


FAULTS = ["best@1", "final", "phase2@1", "phase2@2", "resume"]
"""Where the resumes are killed, in turn, after the first run was killed inside its second
periodic checkpoint (each point is reached by the resume before it: see the test)."""


def test_a_run_killed_anywhere_resumes_and_evaluates(tmp_path: Path) -> None:
    """One run killed six times: inside a periodic checkpoint (step 256), then each resume
    inside ``best/`` (its first evaluation), ``final/``, phase 2's first checkpoint (nothing
    of phase 2 kept), its second (round 1 kept), and at start-up; the last resume completes."""
    run_dir = tmp_path / "run"
    killed(run_dir, "checkpoint@2")
    for fault in FAULTS:
        said = resumed(run_dir, fault)  # the previous kill left a temporary folder
        assert "removed" in said and "left by a process that was stopped" in said, (fault, said)
    resumed(run_dir)
    assert_whole(run_dir)
    assert f"finished at step {TOTAL}; nothing to do" in resumed(run_dir)


def test_a_run_that_finds_the_disk_full_stops_in_one_line_and_resumes(tmp_path: Path) -> None:
    """The second periodic checkpoint's write fails as on a full disk (``ENOSPC``): ``train``
    says so in one line with exit status 2, the checkpoint being written leaves nothing
    behind, and once there is room again ``--resume`` completes the run."""
    run_dir = tmp_path / "run"
    args = ["train", "--out", str(run_dir), *TINY_DR, "--eval-freq", "0"]
    env = {**os.environ, FAULT_ENV: "checkpoint@2", ACTION_ENV: "enospc"}
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.startswith("mtml-rl train: error: no room to write (No space left on device)")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_128"]
    resumed(run_dir)
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": TOTAL}
    assert rundir.checkpoint_problem(run_dir / "final") is None
    assert [p for p in run_dir.rglob(".*") if not p.name.endswith(".lock")] == []


def test_a_damaged_post_training_checkpoint_is_named_and_the_step_starts_over(tmp_path: Path) -> None:
    """Phase 2's progress (``checkpoints/post_train``) garbled after a kill: the resume says
    which file is damaged and that phase 2 starts over (it went on in silence before), and
    the run finishes whole."""
    run_dir = tmp_path / "run"
    killed(run_dir, "phase2@2")
    (rundir.post_train_dir(run_dir) / "phase2.pt").write_bytes(b"\x00" * 200)
    said = resumed(run_dir)
    assert f"{rundir.post_train_dir(run_dir)}: phase2.pt has 200 bytes" in said
    assert "; the post-training step starts over" in said
    assert_whole(run_dir)


def test_phase_2_progress_of_other_settings_starts_over(tmp_path: Path) -> None:
    """``adapt_epochs`` edited in ``config.yaml`` after a kill in phase 2: the resume went on
    from the round saved with the old value (and ``adapt_iterations`` 4 → 2 after 2 of 4
    rounds made a module of neither setting, named as the new one); now the saved progress
    is named with what changed, phase 2 starts over, and its log rows are the new ones only."""
    run_dir = tmp_path / "run"
    killed(run_dir, "phase2@2")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    (run_dir / "config.yaml").write_text(yaml.safe_dump({**config, "adapt_epochs": 2}, sort_keys=False))
    said = resumed(run_dir)
    expected = "was made with other settings (adapt_epochs 1 then, 2 now); the post-training step starts over"
    assert f"{rundir.post_train_dir(run_dir)}: {expected}" in said
    assert_whole(run_dir)
    assert json.loads((run_dir / "final" / "adaptation.json").read_text())["phase2"]["epochs"] == 2
