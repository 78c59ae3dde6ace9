"""Simulator-backed families reproduce Gymnasium's v5 / v3 environments step for step.

At each family's reference task (the parameter values at which the reward is
Gymnasium's: HalfCheetahDir +1, AntDir 0, all exponents 0, the windless LunarLander at
gravity 10) the env and its Gymnasium counterpart, reset with the same seeds and given the
same actions, give identical observations (ours are float32: Gymnasium's MuJoCo float64
observations cast), rewards and flags, over several episodes. Where no value makes the
reward Gymnasium's (HalfCheetahVel, AntGoal), observations and flags are still identical
and the reward follows the published definition, computed here from Gymnasium's info.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from sim_helpers import SIM_SPEC_IDS, Step, actions, assert_same_rollout, rollout

import mtml_rl
from mtml_rl.families.registry import get_family
from mtml_rl.families.sim import SimFamily
from mtml_rl.tasks.task import Task

N_STEPS = 150
EXPONENTS_ZERO = {
    "mass_exp": 0.0,
    "inertia_exp": 0.0,
    "damping_exp": 0.0,
    "friction_exp": 0.0,
    "gravity_exp": 0.0,
}
REFERENCE_VALUES: dict[str, dict[str, float] | None] = {
    "halfcheetah_dir": {"direction": 1.0, "ctrl_cost_weight": 0.1},
    "ant_dir": {"direction": 0.0, "ctrl_cost_weight": 0.5},
    "hopper_params": EXPONENTS_ZERO,
    "walker_params": EXPONENTS_ZERO,
    "halfcheetah_params": EXPONENTS_ZERO,
    "lunarlander": {"gravity": 10.0, "wind_power": 0.0, "turbulence_power": 0.0},
    "halfcheetah_vel": None,
    "ant_goal": None,
}


def sim_family(spec_id: str) -> type[SimFamily[Any]]:
    family = mtml_rl.resolve_spec(spec_id).family_cls
    assert isinstance(family, type) and issubclass(family, SimFamily)
    return family


def reference_env(family: type[SimFamily[Any]]) -> gym.Env[Any, Any]:
    return gym.make(family.reference_id, **family.env_kwargs)


@pytest.mark.parametrize("name", sorted(REFERENCE_VALUES))
def test_reference_values_are_the_documented_ones(name: str) -> None:
    family = get_family(name)
    assert issubclass(family, SimFamily)
    values = REFERENCE_VALUES[name]
    assert family.reference_task() == (None if values is None else Task.make(name, values))


@pytest.mark.parametrize("spec_id", [i for i in SIM_SPEC_IDS if sim_family(i).reference_task() is not None])
def test_reference_task_reproduces_gymnasium_step_for_step(spec_id: str) -> None:
    family = sim_family(spec_id)
    ours = gym.make(spec_id, task=family.reference_task())
    theirs = reference_env(family)
    acts = actions(ours.action_space, N_STEPS, seed=7)
    assert_same_rollout(rollout(ours, 3, acts), rollout(theirs, 3, acts))
    ours.close()
    theirs.close()


def rollout_with_info(
    env: gym.Env[Any, Any], acts: list[np.ndarray]
) -> tuple[list[Step], list[dict[str, Any]]]:
    """Steps and infos from ``reset(seed=5)``; stops at the end of the first episode."""
    obs, _ = env.reset(seed=5)
    steps, infos = [Step(np.asarray(obs, dtype=np.float32), float("nan"), False, False)], []
    for action in acts:
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append(Step(np.asarray(obs, dtype=np.float32), float(reward), terminated, truncated))
        infos.append(info)
        if terminated or truncated:
            break
    return steps, infos


RewardOf = Callable[[Mapping[str, Any], np.ndarray], float]


def ant_costs(info: Mapping[str, Any], action: np.ndarray, ctrl_cost_weight: float) -> float:
    return (
        info["reward_survive"] - ctrl_cost_weight * float(np.sum(np.square(action))) + info["reward_contact"]
    )


PUBLISHED_REWARDS: list[tuple[str, dict[str, float], RewardOf]] = [
    (
        "mtml/HalfCheetahVel-v0",
        {"target_velocity": 2.0, "ctrl_cost_weight": 0.05},
        lambda i, a: -abs(i["x_velocity"] - 2.0) - 0.05 * float(np.sum(np.square(a))),
    ),
    (
        "mtml/HalfCheetahDir-v0",
        {"direction": -1.0, "ctrl_cost_weight": 0.05},
        lambda i, a: -i["x_velocity"] - 0.05 * float(np.sum(np.square(a))),
    ),
    (
        "mtml/AntDir-v0",
        {"direction": math.pi / 3},
        lambda i, a: 0.5 * i["x_velocity"] + math.sqrt(3) / 2 * i["y_velocity"] + ant_costs(i, a, 0.5),
    ),
    (
        "mtml/AntGoal-v1",
        {"goal_x": 1.0, "goal_y": -2.0, "ctrl_cost_weight": 0.1},
        lambda i, a: -(abs(i["x_position"] - 1.0) + abs(i["y_position"] + 2.0)) + ant_costs(i, a, 0.1),
    ),
]


@pytest.mark.parametrize(
    ("spec_id", "task", "reward_of"), PUBLISHED_REWARDS, ids=[p[0] for p in PUBLISHED_REWARDS]
)
def test_reward_tasks_keep_v5_dynamics_and_use_the_published_reward(
    spec_id: str, task: dict[str, float], reward_of: RewardOf
) -> None:
    family = sim_family(spec_id)
    ours = gym.make(spec_id, task=task)
    theirs = reference_env(family)
    acts = actions(ours.action_space, N_STEPS, seed=11)
    our_steps, _ = rollout_with_info(ours, acts)
    their_steps, their_infos = rollout_with_info(theirs, acts)
    assert_same_rollout(our_steps, their_steps, rewards=False)
    for k, info in enumerate(their_infos):
        # float32 actions make the control cost a float32 (as in Gymnasium); the formula
        # here is float64, hence the tolerance.
        assert our_steps[k + 1].reward == pytest.approx(reward_of(info, acts[k]), rel=1e-6, abs=1e-6)
    ours.close()
    theirs.close()


@pytest.mark.parametrize(
    "task",
    [
        {"gravity": 5.0, "wind_power": 12.0, "turbulence_power": 1.5},
        {"gravity": 8.0, "turbulence_power": 2.0},
    ],
)
def test_lunarlander_task_equals_constructing_the_env_with_those_arguments(task: dict[str, float]) -> None:
    ours = gym.make("mtml/LunarLander-v0", task=task)
    theirs = gym.make(
        "LunarLanderContinuous-v3",
        gravity=-task["gravity"],
        enable_wind=True,
        wind_power=task.get("wind_power", 0.0),
        turbulence_power=task["turbulence_power"],
    )
    acts = actions(ours.action_space, 400, seed=3)
    assert_same_rollout(rollout(ours, 9, acts), rollout(theirs, 9, acts))
    ours.close()
    theirs.close()
