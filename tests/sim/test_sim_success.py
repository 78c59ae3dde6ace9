"""Success flags that are only tested where they can hold: LunarLander succeeds only on a
terminating step (a lander at rest ends the episode), so the environments skip its success
test on the other steps; the flags equal the test called at every step, single and vector,
through landings by Gymnasium's own heuristic controller."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.box2d.lunar_lander import heuristic

from mtml_rl.envs import SimVectorEnv
from mtml_rl.families.lunarlander import LunarLander

TASK = {"gravity": 10.0, "wind_power": 0.0, "turbulence_power": 0.0}


def test_lunarlander_declares_success_only_at_termination() -> None:
    assert LunarLander.success_only_at_termination


def test_the_single_envs_flags_equal_the_success_test_at_every_step() -> None:
    successes = 0
    for seed in range(3):
        env = gym.make("mtml/LunarLander-v0", task=TASK)
        obs, _ = env.reset(seed=seed)
        task_env: Any = env.unwrapped
        sim, family, params = task_env.simulator, task_env.family, task_env._sim_slot.params
        for _ in range(1000):
            obs, _, terminated, truncated, info = env.step(heuristic(sim, obs).astype(np.float32))
            assert info["is_success"] is bool(family.is_success(sim, params, obs, info))
            assert terminated or not info["is_success"]
            if terminated or truncated:
                successes += info["is_success"]
                break
        env.close()
    assert successes >= 2  # the heuristic lands: the comparison went through successes


def test_the_vector_envs_final_flags_equal_the_single_envs() -> None:
    """Slot ``i`` of a vector env reset with seed 0 runs the single env reset with seed ``i``:
    the same landings, the same flags at every episode's end."""
    venv = SimVectorEnv("mtml/LunarLander-v0", num_envs=2, task=TASK)
    envs = [gym.make("mtml/LunarLander-v0", task=TASK) for _ in range(2)]
    obs, _ = venv.reset(seed=0)
    for i, env in enumerate(envs):
        env.reset(seed=i)
    sims = [env.unwrapped.simulator for env in envs]  # type: ignore[attr-defined]
    ends = successes = 0
    for _ in range(600):
        actions = np.stack([heuristic(sim, row) for sim, row in zip(sims, obs, strict=True)]).astype(
            np.float32
        )
        obs, _, terminated, truncated, info = venv.step(actions)
        for i, env in enumerate(envs):
            _, _, term, trunc, single_info = env.step(actions[i])
            assert (term, trunc) == (terminated[i], truncated[i])
            if term or trunc:
                assert info["final_is_success"][i] == single_info["is_success"]
                ends, successes = ends + 1, successes + single_info["is_success"]
                env.reset()
    venv.close()
    assert ends >= 4 and successes >= 2
