"""Vectorizing simulator-backed ids: Gymnasium's sync and async vector envs, SB3's VecEnvs.

Each slot is its own env whose scheduler is seeded with ``seed + i``, so slot ``i`` runs
exactly what a single env reset with ``seed + i`` runs, and slots run different tasks.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import mtml_rl


def first_task(spec_id: str, seed: int) -> str:
    env = gym.make(spec_id)
    task: str = env.reset(seed=seed)[1]["task"]
    env.close()
    return task


def check_slots(venv: gym.vector.VectorEnv[Any, Any, Any], spec_id: str, seed: int) -> None:
    obs, info = venv.reset(seed=seed)
    tasks = list(info["task"])
    assert tasks == [first_task(spec_id, seed + i) for i in range(venv.num_envs)]
    assert len(set(tasks)) == venv.num_envs
    assert obs.shape == (venv.num_envs, *(venv.single_observation_space.shape or ()))
    venv.action_space.seed(0)
    for _ in range(5):
        obs, reward, _, _, info = venv.step(venv.action_space.sample())
    assert reward.shape == (venv.num_envs,) and np.isfinite(reward).all()


@pytest.mark.parametrize("spec_id", ["mtml/HalfCheetahVel-v0", "mtml/HopperParams-v0", "mtml/LunarLander-v0"])
def test_make_vec_defaults_to_sync_with_a_task_per_slot(spec_id: str) -> None:
    venv = mtml_rl.make_vec(spec_id, num_envs=3)
    assert isinstance(venv, gym.vector.SyncVectorEnv)
    check_slots(venv, spec_id, seed=10)
    venv.close()


@pytest.mark.slow
def test_make_vec_async_with_a_task_per_slot() -> None:
    venv = gym.make_vec("mtml/AntDir-v0", num_envs=2, vectorization_mode="async")
    assert isinstance(venv, gym.vector.AsyncVectorEnv)
    check_slots(venv, "mtml/AntDir-v0", seed=20)
    venv.close()


def test_sb3_make_vec_env_seeds_each_worker() -> None:
    venv = make_vec_env("mtml/HopperParams-v0", n_envs=3, seed=5, vec_env_cls=DummyVecEnv)
    venv.reset()
    tasks = [env.unwrapped.task.id for env in venv.envs]  # type: ignore[attr-defined]
    assert tasks == [first_task("mtml/HopperParams-v0", 5 + i) for i in range(3)]
    venv.close()


@pytest.mark.slow
def test_sb3_subproc_vec_env_from_the_registered_id() -> None:
    # "fork" keeps this fast; the "mtml_rl:" prefix also makes the id known to "spawn"ed
    # workers (a fresh interpreter), which works the same but imports torch per worker.
    venv = make_vec_env(
        "mtml_rl:mtml/LunarLander-v0",
        n_envs=2,
        seed=6,
        vec_env_cls=SubprocVecEnv,
        vec_env_kwargs={"start_method": "fork"},
    )
    venv.reset()
    infos = venv.reset_infos
    assert [i["task"] for i in infos] == [first_task("mtml/LunarLander-v0", 6 + i) for i in range(2)]
    obs, rewards, _, _ = venv.step(np.zeros((2, 2), dtype=np.float32))
    assert isinstance(obs, np.ndarray) and obs.shape == (2, 8) and rewards.shape == (2,)
    venv.close()
