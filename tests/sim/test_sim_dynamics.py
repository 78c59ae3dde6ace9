"""Dynamics parameters change the motion, and a task switch leaves nothing behind.

- every dynamics parameter (each exponent of the rand-params families; LunarLander's
  gravity, wind and turbulence) changes the trajectory from the same seed and actions;
- switching to another task and back reproduces the first trajectory exactly, for every
  id; after returning to the default task every array of the MuJoCo model (derived ones
  included) equals a freshly built model's, bit for bit;
- HalfCheetahDir's two-valued direction fits the spec model.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from sim_helpers import SIM_SPEC_IDS, actions, assert_same_rollout, rollout, same_trajectory

import mtml_rl
from mtml_rl.errors import TaskError
from mtml_rl.families.locomotion import HalfCheetahDir
from mtml_rl.specs import build_splits

RAND_PARAMS_IDS = ["mtml/HopperParams-v0", "mtml/WalkerParams-v0", "mtml/HalfCheetahParams-v0"]
EXPONENTS = ["mass_exp", "inertia_exp", "damping_exp", "friction_exp", "gravity_exp"]
DYNAMICS_CHANGES = [(i, {name: 1.0}) for i in RAND_PARAMS_IDS for name in EXPONENTS] + [
    ("mtml/LunarLander-v0", {"gravity": 6.0}),
    ("mtml/LunarLander-v0", {"wind_power": 10.0}),
    ("mtml/LunarLander-v0", {"turbulence_power": 1.0}),
]
N_STEPS = 60


@pytest.mark.parametrize(
    ("spec_id", "change"), DYNAMICS_CHANGES, ids=[f"{i}-{next(iter(c))}" for i, c in DYNAMICS_CHANGES]
)
def test_each_dynamics_parameter_changes_the_trajectory(spec_id: str, change: dict[str, float]) -> None:
    env = gym.make(spec_id, task={})
    acts = actions(env.action_space, N_STEPS, seed=1)
    default = rollout(env, 0, acts)
    changed = rollout(env, 0, acts, options={"task": change})
    assert not same_trajectory(default, changed)
    assert same_trajectory(rollout(env, 0, acts), default)
    env.close()


@pytest.mark.parametrize("spec_id", SIM_SPEC_IDS)
def test_switching_tasks_and_back_reproduces_the_first_trajectory(spec_id: str) -> None:
    first_task, other_task = build_splits(mtml_rl.resolve_spec(spec_id))["train"].tasks[:2]
    env = gym.make(spec_id)
    acts = actions(env.action_space, N_STEPS, seed=2)
    first = rollout(env, 4, acts, options={"task": first_task})
    rollout(env, 5, actions(env.action_space, N_STEPS, seed=3), options={"task": other_task})
    assert_same_rollout(rollout(env, 4, acts, options={"task": first_task}), first)
    env.close()


def model_arrays(model: Any) -> dict[str, np.ndarray]:
    """Copies of every array of an ``MjModel`` and of its ``opt`` (gravity ...)."""
    out = {}
    for owner, prefix in ((model, ""), (model.opt, "opt.")):
        for name in dir(owner):
            value = getattr(owner, name, None) if not name.startswith("_") else None
            if isinstance(value, np.ndarray):
                out[prefix + name] = value.copy()
    return out


@pytest.mark.parametrize("spec_id", RAND_PARAMS_IDS)
def test_the_default_task_restores_the_whole_model_after_another_task(spec_id: str) -> None:
    env = gym.make(spec_id, task={})
    sim: Any = env.unwrapped.simulator  # type: ignore[attr-defined]
    fresh = model_arrays(gym.make(sim.spec.id).unwrapped.model)  # type: ignore[attr-defined]
    env.reset(seed=0, options={"task": dict.fromkeys(EXPONENTS, 1.7)})
    changed = model_arrays(sim.model)
    assert not np.array_equal(changed["body_mass"], fresh["body_mass"])
    assert not np.array_equal(changed["body_subtreemass"], fresh["body_subtreemass"])  # derived, recomputed
    env.reset(seed=0)
    restored = model_arrays(sim.model)
    assert restored.keys() == fresh.keys()
    for name, value in fresh.items():
        assert np.array_equal(restored[name], value, equal_nan=value.dtype.kind == "f"), name
    env.close()


def test_lunarlander_default_task_restores_the_constructor_defaults_after_wind() -> None:
    env = gym.make("mtml/LunarLander-v0", task={})
    reference = gym.make("LunarLanderContinuous-v3")
    acts = actions(env.action_space, N_STEPS, seed=4)
    rollout(env, 0, acts, options={"task": {"gravity": 3.0, "wind_power": 15.0, "turbulence_power": 2.0}})
    assert_same_rollout(rollout(env, 8, acts), rollout(reference, 8, acts))
    env.close()
    reference.close()


def test_halfcheetah_dir_takes_two_values_through_zero_width_train_intervals() -> None:
    spec = mtml_rl.resolve_spec("mtml/HalfCheetahDir-v0")
    assert [(i.low, i.high) for i in spec.parameter("direction").train.intervals] == [
        (-1.0, -1.0),
        (1.0, 1.0),
    ]
    assert sorted(t["direction"] for t in build_splits(spec)["train"].tasks) == [-1.0, 1.0]
    with pytest.raises(TaskError, match=r"must be -1 .* or \+1"):
        HalfCheetahDir.task({"direction": 0.5})
    with pytest.raises(TaskError, match="must be -1"):
        gym.make("mtml/HalfCheetahDir-v0", task={"direction": 0.0})
