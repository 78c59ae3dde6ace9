"""Every simulator-backed id passes Gymnasium's and SB3's ``check_env``, warnings as errors.

Each id is checked over a few sampled tasks and the corners of its regions (MuJoCo is
slower than the numpy families, so fewer tasks than there); the context modes and the
history window are checked on one MuJoCo and one Box2D id; rendering where a display
backend exists.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from check_env_helpers import warnings_as_errors
from gymnasium.utils.env_checker import check_env as gym_check_env
from sim_helpers import SIM_SPEC_IDS, check_tasks
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mtml_rl
from mtml_rl.envs.sim_env import SimMultiTaskEnv
from mtml_rl.errors import TaskError

EXPECTED_IDS = {
    "mtml/HalfCheetahVel-v0",
    "mtml/HalfCheetahDir-v0",
    "mtml/AntDir-v0",
    "mtml/AntGoal-v1",
    "mtml/HopperParams-v0",
    "mtml/WalkerParams-v0",
    "mtml/HalfCheetahParams-v0",
    "mtml/LunarLander-v0",
}


def both_checks(env: gym.Env[Any, Any], *, render: bool = False) -> None:
    """Gymnasium's and SB3's ``check_env`` on the unwrapped env, warnings as errors."""
    with warnings_as_errors():
        gym_check_env(env.unwrapped, skip_render_check=not render)
        sb3_check_env(env.unwrapped, warn=True)


def test_every_sim_id_is_registered_without_a_vector_entry_point() -> None:
    assert set(SIM_SPEC_IDS) == EXPECTED_IDS
    for spec_id in SIM_SPEC_IDS:
        spec = gym.spec(spec_id)
        assert spec.entry_point == "mtml_rl.envs.sim_env:SimMultiTaskEnv"
        assert spec.vector_entry_point is None


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", SIM_SPEC_IDS)
def test_check_env_over_sampled_and_corner_tasks(spec_id: str) -> None:
    spec = mtml_rl.resolve_spec(spec_id)
    with warnings_as_errors():
        env = gym.make(spec_id)
    assert isinstance(env.unwrapped, SimMultiTaskEnv)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, env.action_space.shape, dtype=np.float32)
    for values in check_tasks(spec):
        env.unwrapped.set_task(values)
        both_checks(env)
        _, info = env.reset(seed=0)
        assert all(info["task_params"][k] == pytest.approx(v) for k, v in values.items())
    env.close()


@pytest.mark.parametrize("spec_id", ["mtml/HalfCheetahVel-v0", "mtml/LunarLander-v0"])
@pytest.mark.parametrize(("context", "history_len"), [("visible", 0), ("privileged", 0), ("hidden", 4)])
def test_check_env_in_every_context_mode(spec_id: str, context: str, history_len: int) -> None:
    with warnings_as_errors():
        env = gym.make(spec_id, context=context, history_len=history_len)
    both_checks(env)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    env.close()


@pytest.mark.parametrize("split", ["train", "test-interpolation", "test-extrapolation", "test"])
def test_split_env_draws_its_tasks_from_the_split(split: str) -> None:
    env = gym.make("mtml/AntGoal-v1", split=split)
    ids = {t.id for t in mtml_rl.build_splits(mtml_rl.resolve_spec("mtml/AntGoal-v1"))[split].tasks}
    seen = set()
    for episode in range(6):
        _, info = env.reset(seed=episode)
        assert info["task"] in ids
        seen.add(info["task"])
    assert len(seen) > 1
    env.close()


def test_a_split_without_tasks_is_a_clear_error() -> None:
    with pytest.raises(TaskError, match="holds no tasks"):
        gym.make("mtml/HalfCheetahDir-v0", split="test")


def test_lunarlander_renders_and_passes_the_render_checks() -> None:
    env = gym.make("mtml/LunarLander-v0", render_mode="rgb_array")
    both_checks(env, render=True)
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.dtype == np.uint8
    env.close()


def test_mujoco_renders_where_an_opengl_backend_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    env = gym.make("mtml/HopperParams-v0", render_mode="rgb_array")
    env.reset(seed=0)
    try:
        frame = env.render()
    except Exception as exc:  # no EGL/OSMesa on this machine: nothing of ours to test
        env.close()
        pytest.skip(f"MuJoCo cannot create an OpenGL context here: {exc}")
    assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
    env.close()
