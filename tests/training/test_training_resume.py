"""Resume: the step counter and logs go on from the last checkpoint; reproducible; atomic saves."""

from __future__ import annotations

import csv
import importlib
import json
import pickle
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from training_helpers import CARTPOLE, PENDULUM, assert_same_params, file_hashes, small_config

from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.io import write_manifest
from mtml_rl.training import Run, resume, rundir, train
from mtml_rl.training.rundir import list_checkpoints

train_module = importlib.import_module("mtml_rl.training.train")  # the package exports train()

INTERRUPT_AT = 1600
"""The step at which the interrupted run stops: past its checkpoint at 1024 and its log at 1536."""


class Interrupt(BaseCallback):
    """Raises ``KeyboardInterrupt`` once ``at`` steps are done, like Ctrl-C would."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.at:
            raise KeyboardInterrupt
        return True


def interrupted_run(out: Path, monkeypatch: pytest.MonkeyPatch, **fields: Any) -> Path:
    """Train ``fields`` with checkpoints every 512 steps and stop it at :data:`INTERRUPT_AT`."""
    original: Callable[..., list[BaseCallback]] = train_module._callbacks
    with monkeypatch.context() as patch:
        patch.setattr(
            train_module, "_callbacks", lambda *a, **k: [*original(*a, **k), Interrupt(INTERRUPT_AT)]
        )
        with pytest.raises(KeyboardInterrupt):
            train(small_config(out, timesteps=3072, save_freq=1024, **fields), progress=False)
    return out


def logged_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of the run's CSV log that carry a step count."""
    with open(run_dir / "logs" / "progress.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row.get("time/total_timesteps")]


def steps_of(rows: list[dict[str, str]]) -> list[int]:
    return [int(float(row["time/total_timesteps"])) for row in rows]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run stopped at step 1600 whose last checkpoint is at 1024 (copy it before use)."""
    with pytest.MonkeyPatch.context() as patch:
        return interrupted_run(tmp_path_factory.mktemp("interrupted") / "run", patch)


def copy_of(run_dir: Path, target: Path) -> Path:
    shutil.copytree(run_dir, target)
    return target


def test_interrupted_run_is_recorded(interrupted: Path) -> None:
    status = json.loads((interrupted / "run.json").read_text())
    assert status == {"status": "interrupted", "steps": INTERRUPT_AT}
    assert [c.steps for c in list_checkpoints(interrupted)] == [1024]
    assert not (interrupted / "final").exists()


def test_resume_continues_from_last_checkpoint(interrupted: Path, tmp_path: Path) -> None:
    run_dir = copy_of(interrupted, tmp_path / "run")
    before = logged_rows(run_dir)
    assert max(steps_of(before)) > 1024, "the interrupted run logged past its checkpoint"
    run = resume(run_dir, progress=False)
    assert run.model.num_timesteps == 3072
    after = logged_rows(run_dir)
    kept = [row for row in before if int(float(row["time/total_timesteps"])) <= 1024]
    for old_row, new_row in zip(kept, after[: len(kept)], strict=True):  # new columns may be added
        assert {k: new_row[k] for k in old_row} == old_row, "rows up to the checkpoint are kept as they were"
        assert not any(new_row[k] for k in new_row.keys() - old_row.keys())
    new_steps = steps_of(after[len(kept) :])
    assert new_steps and min(new_steps) > 1024 and max(new_steps) == 3072
    assert new_steps == sorted(new_steps), "the step counter goes on from the checkpoint"
    assert [c.steps for c in list_checkpoints(run_dir)] == [1024, 2048, 3072]
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": 3072}
    assert len((run_dir / "command.txt").read_text().splitlines()) == 2
    assert Run.load(run_dir).model.num_timesteps == 3072


def tensorboard_steps(run_dir: Path) -> dict[str, list[int]]:
    """The steps of every scalar as TensorBoard shows them (purges applied)."""
    events = EventAccumulator(str(run_dir / "logs"))
    events.Reload()
    return {tag: [e.step for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.slow
def test_resume_shows_each_step_once_in_tensorboard(interrupted: Path, tmp_path: Path) -> None:
    """The interrupted process logged step 1536 after its checkpoint at 1024; the resumed one
    logs it again, and TensorBoard shows it once (the new event file purges the old events)."""
    run_dir = copy_of(interrupted, tmp_path / "run")
    assert 1536 in tensorboard_steps(run_dir)["time/fps"]
    resume(run_dir, progress=False)
    shown = tensorboard_steps(run_dir)
    for tag, steps in shown.items():  # the last update's losses are flushed at the last step
        assert steps[:-1] == sorted(set(steps[:-1])), f"{tag} shows a step twice: {steps}"
    assert 1536 in shown["time/fps"] and max(shown["time/fps"]) > 1536


@pytest.mark.slow
def test_a_resume_in_the_second_of_the_old_event_file_still_purges_it(
    interrupted: Path, tmp_path: Path
) -> None:
    """TensorBoard reads event files in name order (second, host, process id, writer number,
    compared as text): an old file of this very second and a larger process id would sort
    after the resume's new one, and its events after 1024 would show again. The resume waits
    for the next second first."""
    run_dir = copy_of(interrupted, tmp_path / "run")
    now = int(time.time()) + 1
    for old in (run_dir / "logs").glob("events.out.tfevents.*"):
        old.rename(old.with_name(f"events.out.tfevents.{now}.host.99999.9"))
    resume(run_dir, progress=False)
    for tag, steps in tensorboard_steps(run_dir).items():
        assert steps[:-1] == sorted(set(steps[:-1])), f"{tag} shows a step twice: {steps}"


@pytest.mark.slow
def test_resume_twice_gives_identical_parameters(interrupted: Path, tmp_path: Path) -> None:
    first = resume(copy_of(interrupted, tmp_path / "a"), progress=False)
    second = resume(copy_of(interrupted, tmp_path / "b"), progress=False)
    assert_same_params(first.model, second.model)
    assert [r.ret for r in first.evaluate("test-interpolation")] == [
        r.ret for r in second.evaluate("test-interpolation")
    ]


@pytest.mark.slow
def test_resume_off_policy_with_normalization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SAC resumes with its replay buffer and normalization statistics, reproducibly."""
    hyperparams = {
        "learning_starts": 64,
        "batch_size": 32,
        "train_freq": 8,
        "buffer_size": 4096,
        "normalize": True,
        "policy_kwargs": {"net_arch": [16]},
    }
    fields = {"env": PENDULUM, "algo": "sac", "n_envs": 4, "hyperparams": hyperparams}
    base = interrupted_run(tmp_path / "base", monkeypatch, **fields)
    assert (base / "checkpoints" / "step_1024" / "replay_buffer.pkl").is_file()
    assert (base / "checkpoints" / "step_1024" / "vecnormalize.pkl").is_file()
    runs = [resume(copy_of(base, tmp_path / name), progress=False) for name in ("a", "b")]
    assert_same_params(runs[0].model, runs[1].model)
    for run in runs:
        assert run.normalizer is not None and run.normalizer.obs_rms["obs"].count > 3072


@pytest.mark.slow
def test_resume_with_more_timesteps(tmp_path: Path) -> None:
    run = train(small_config(tmp_path / "run", timesteps=1024, save_freq=512), progress=False)
    longer = resume(run.path, timesteps=2048, progress=False)
    assert longer.model.num_timesteps == 2048
    assert steps_of(logged_rows(run.path))[-1] == 2048
    # the new budget is recorded where a later resume and a grid read it
    assert yaml.safe_load((run.path / "config.yaml").read_text())["timesteps"] == 2048
    assert yaml.safe_load((run.path / "hyperparams.yaml").read_text())["n_timesteps"] == 2048


@pytest.mark.slow
def test_taking_an_off_policy_run_further_says_when_its_replay_buffer_is_not_kept(tmp_path: Path) -> None:
    """A finished SAC run goes on from its newest saved model: the periodic checkpoint at its last
    step keeps the replay buffer, ``final/`` does not, and resume says so when it starts from
    ``final/`` (a budget that is not a multiple of the checkpoint interval)."""
    notes: dict[str, list[str]] = {}
    for name, budget in (("aligned", 512), ("between", 600)):
        config = small_config(
            tmp_path / name, env=PENDULUM, algo="sac", n_envs=1, timesteps=budget, save_freq=512
        )
        run = train(config, progress=False)
        notes[name] = []
        longer = resume(run.path, timesteps=budget + 64, progress=False, note=notes[name].append)
        assert longer.model.num_timesteps >= budget + 64
    assert not any("replay buffer" in line for line in notes["aligned"])
    assert any(
        "final keeps no replay buffer" in line and "SAC goes on with an empty one" in line
        for line in notes["between"]
    )


@pytest.mark.slow
def test_failed_checkpoint_leaves_no_partial_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that fails midway leaves no ``checkpoints/step_*`` folder; the previous one is intact."""
    out = tmp_path / "run"
    checkpoints = out / "checkpoints"
    original_save = PPO.save
    seen: dict[str, dict[str, str]] = {}

    def failing_save(self: PPO, path: Any, *args: Any, **kwargs: Any) -> None:
        if not (checkpoints / "step_512").is_dir():
            original_save(self, path, *args, **kwargs)
            return
        seen["before"] = file_hashes(checkpoints / "step_512")
        Path(path).write_bytes(b"PK\x03\x04 half a zip")  # the disk fills up midway
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PPO, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        train(small_config(out, timesteps=2048, save_freq=512), progress=False)
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step_512"], "no partial or temporary folder"
    assert file_hashes(checkpoints / "step_512") == seen["before"]
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(PPO, "save", original_save)
    assert resume(out, progress=False).model.num_timesteps == 2048


@pytest.mark.slow
def test_resume_keeps_a_better_best_model(tmp_path: Path) -> None:
    """The best model of a resumed run is replaced only by a better evaluation than before."""
    run = train(small_config(tmp_path / "run", timesteps=1024, save_freq=512, eval_freq=512), progress=False)
    record = run.path / "best" / "eval.json"
    unbeatable = {"steps": 1024, "train_return_mean": 1e9}
    record.write_text(json.dumps(unbeatable))
    write_manifest(run.path / "best")  # as if the run had saved that record
    kept = file_hashes(run.path / "best")
    resume(run.path, timesteps=2048, progress=False)
    assert file_hashes(run.path / "best") == kept
    record.write_text(json.dumps({"steps": 1024, "train_return_mean": -1e9}))
    write_manifest(run.path / "best")
    resume(run.path, timesteps=3072, progress=False)
    assert json.loads(record.read_text())["steps"] > 2048


class _Stop(Exception):
    """Ends a resume once its first reset has been checked."""


@pytest.mark.slow
def test_resume_continues_the_task_schedulers_streams(
    interrupted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first episodes after a resume are drawn from the checkpoint's streams, not from
    streams reseeded by SB3's ``set_random_seed``."""
    run_dir = copy_of(interrupted, tmp_path / "run")
    saved = pickle.loads((list_checkpoints(run_dir)[-1].path / rundir.SCHEDULER_FILE).read_bytes())
    seen: dict[str, Any] = {}

    def first_reset(path: Path, config: Any, spec: Any, model: Any, stack: Any, *args: Any, **kw: Any) -> Any:
        model.env.reset()  # what model.learn does first
        seen["tasks"] = [t.id for t in stack.venv.current_tasks()]
        seen["obs"] = stack.venv.slots.obs.copy()
        raise _Stop

    monkeypatch.setattr(train_module, "_learn", first_reset)
    with pytest.raises(_Stop):
        resume(run_dir, progress=False)
    expected = MultiTaskVectorEnv(CARTPOLE, num_envs=8, split="train", context="privileged")
    expected.slots.set_rng_state(saved)
    expected.reset()
    assert seen["tasks"] == [t.id for t in expected.current_tasks()]
    np.testing.assert_array_equal(seen["obs"], expected.slots.obs)
