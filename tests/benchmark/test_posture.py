"""``scripts/posture.py``: where the torso's tilt and speed are in a runner's observation (the
pitch of a planar one, the quaternion of an ant), what counts as "on its back", and the script
run on a trained run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from script_loading import load_script
from tiny_runs import tiny_checkpointed_run

from mtml_rl.families.registry import family_names, get_family
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.specs.splits import build_splits


def families_on(references: dict[str, int]) -> list[str]:
    return [name for name in family_names() if getattr(get_family(name), "reference_id", None) in references]


def planar_families() -> list[str]:
    return families_on(load_script("posture").PLANAR_REFERENCES)


def spatial_families() -> list[str]:
    return families_on(load_script("posture").SPATIAL_REFERENCES)


def test_the_planar_families_are_the_halfcheetah_hopper_and_walker_ones() -> None:
    assert set(planar_families()) >= {"halfcheetah_vel", "halfcheetah_dir", "halfcheetah_params"}
    assert {"hopper_params", "walker_params"} <= set(planar_families())
    assert set(spatial_families()) >= {"ant_dir", "ant_goal"}


def tilt_and_speed(env: gym.Env) -> tuple[float, float]:  # type: ignore[type-arg]
    """The torso's tilt cosine and speed from the simulator's state, whatever the script reads:
    for a runner on a plane (its root joint not free) the pitch ``qpos[2]`` and ``qvel[0]``; for
    a free body (an ant) its torso's z axis in MuJoCo's frame and its planar speed."""
    model, data = env.unwrapped.model, env.unwrapped.data  # type: ignore[attr-defined]
    if model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
        return math.cos(data.qpos[2]), float(data.qvel[0])
    mujoco.mj_kinematics(model, data)  # poses of this qpos
    return float(data.body("torso").xmat.reshape(3, 3)[2, 2]), math.hypot(data.qvel[0], data.qvel[1])


@pytest.mark.parametrize("name", planar_families() + spatial_families())
def test_tilt_and_speed_are_where_the_script_reads_them(name: str) -> None:
    script = load_script("posture")
    family = get_family(name)
    env = gym.make(family.reference_id, **family.env_kwargs)
    env.reset(seed=3)
    references = {**script.PLANAR_REFERENCES, **script.SPATIAL_REFERENCES}
    assert len(env.unwrapped.data.qpos) == references[family.reference_id]  # type: ignore[attr-defined]
    reader = script.torso_reader(name)
    rng = np.random.default_rng(0)
    for _ in range(25):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        tilt, speed = tilt_and_speed(env)
        assert reader.cos_tilt(obs[None])[0] == pytest.approx(tilt)
        assert reader.speeds(obs[None])[0] == pytest.approx(speed)


def test_an_episode_counts_as_on_its_back_by_its_second_half() -> None:
    script = load_script("posture")
    reader = script.torso_reader("halfcheetah_vel")
    observed = np.zeros((100, 17))
    observed[:, reader.speed] = np.r_[np.zeros(50), np.full(50, 2.0)]
    observed[50:, script.PITCH] = math.pi  # flipped over halfway: on its back for the second half
    cos_tilt, mean_speed = script.second_half(observed, reader)
    assert cos_tilt == pytest.approx(-1.0)
    assert mean_speed == pytest.approx(2.0)
    observed[:, script.PITCH] = 2 * math.pi + 0.1  # a whole somersault: upright again
    assert script.second_half(observed, reader)[0] == pytest.approx(math.cos(0.1))


def test_an_ant_counts_as_on_its_back_by_its_torsos_quaternion() -> None:
    script = load_script("posture")
    reader = script.torso_reader("ant_goal")
    observed = np.zeros((100, 107))
    observed[:, reader.tilt] = 1.0  # upright: the identity rotation (w, x, y, z) = (1, 0, 0, 0)
    observed[:, reader.speed : reader.speed + 2] = [0.6, 0.8]
    assert script.second_half(observed, reader) == pytest.approx((1.0, 1.0))
    observed[50:, reader.tilt : reader.tilt + 4] = [0.0, 1.0, 0.0, 0.0]  # half a turn about x
    assert script.second_half(observed, reader)[0] == pytest.approx(-1.0)
    assert script.torso_reader("ant_dir").tilt == reader.tilt - 2  # AntDir leaves out x and y


def test_a_family_class_is_read_as_its_name_is() -> None:
    """A run's spec gives its family class (a ``pkg.module:Class`` family has no registered
    name to look up): the class reads the same as the name."""
    script = load_script("posture")
    for name in ("ant_goal", "halfcheetah_vel"):
        assert script.torso_reader(get_family(name)) == script.torso_reader(name)
    with pytest.raises(ValueError, match="'cartpole' is not built on a runner"):
        script.torso_reader(get_family("cartpole"))


def test_the_train_split_plays_its_first_tasks_and_validation_a_draw_of_no_split() -> None:
    script = load_script("posture")
    spec = resolve_spec("mtml/AntGoal-v1")
    splits = build_splits(spec)
    assert script.played_tasks(spec, "train", 3, 500) == list(splits["train"].tasks)[:3]
    drawn = script.played_tasks(spec, "validation", 3, 500)
    in_splits = {task.id for split in splits.values() for task in split.tasks}
    assert len(drawn) == 3 and not {task.id for task in drawn} & in_splits


def test_a_family_not_on_a_runner_is_refused() -> None:
    script = load_script("posture")
    with pytest.raises(ValueError, match="not built on a runner"):
        script.torso_reader("cartpole")


@pytest.mark.slow
def test_the_script_measures_a_run_and_one_of_its_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("posture")
    run = Path(tiny_checkpointed_run(tmp_path, "oracle", env="mtml/HalfCheetahVel-v0"))
    checkpoint = run / "checkpoints" / "step_256"
    out = tmp_path / "posture.json"
    assert script.main([str(run), str(checkpoint), "--tasks", "3", "--json", str(out)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 4 and rows[2].startswith(f"| {run} |") and "/3 |" in rows[2]
    assert rows[3].startswith(f"| {checkpoint} |")
    assert [row["episodes"] for row in json.loads(out.read_text())] == [3, 3]
    assert script.main([str(run), "--tasks", "2", "--split", "train", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    on_back, upright = row["return_on_back"], row["return_upright"]
    assert row["episodes"] == 2 and (on_back is None) == (row["on_back"] == 0)
    assert (upright is None) == (row["on_back"] == 2)


@pytest.mark.slow
def test_a_finetune_run_is_fine_tuned_on_each_task_before_its_posture_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("posture")
    run = tiny_checkpointed_run(tmp_path, "finetune", env="mtml/HalfCheetahVel-v0", finetune_timesteps=256)
    assert script.main([run, "--tasks", "2"]) == 0  # acting before a task's clone exists would raise
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3 and rows[2].startswith(f"| {run} |") and "/2 |" in rows[2]


def test_a_folder_that_is_no_run_is_refused_before_anything_is_played(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("posture")
    assert script.main([str(tmp_path / "missing"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run folder" in err and str(tmp_path / "missing") in err
