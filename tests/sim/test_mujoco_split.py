"""Split steps: Gymnasium's v5 locomotion steps cut around their physics give ``env.step``'s
results bit for bit (observation, reward, flags, every ``info`` entry and its type), in three
parts or in one call, at default and task-changed weights, through terminations; anything
else is stepped whole, and so is a simulator whose installed Gymnasium code differs from the
code reproduced; the single env steps its simulator through the split step."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any, cast

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

from mtml_rl.families import mujoco_split
from mtml_rl.families.mujoco_split import REFERENCE_SOURCE_DIGESTS, reference_source_matches, split_step
from mtml_rl.families.registry import get_family
from mtml_rl.families.sim import SimFamily

CASES = [
    ("HalfCheetah-v5", {}),
    ("HalfCheetah-v5", {"ctrl_cost_weight": 0.05, "forward_reward_weight": -1.0}),
    ("HalfCheetah-v5", {"exclude_current_positions_from_observation": False}),
    ("Hopper-v5", {}),  # falls over: terminations
    ("Walker2d-v5", {}),
    ("Ant-v5", {}),
    ("Ant-v5", {"terminate_when_unhealthy": False, "ctrl_cost_weight": 0.1}),
]
STEPS = 60


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type (arrays: the same dtype and shape, bitwise)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_split_step_gives_the_simulators_own_step(env_id: str, kwargs: dict[str, Any]) -> None:
    whole, cut = (gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped for _ in range(2))
    split = split_step(cut)
    assert split is not None
    split = pickle.loads(pickle.dumps(split))  # its views of the simulator's arrays are rebuilt
    cut = split.sim
    rng = np.random.default_rng(0)
    terminations = 0
    for episode in range(2):
        assert same(whole.reset(seed=episode), cut.reset(seed=episode))
        for _ in range(STEPS):
            action = rng.uniform(-1.5, 1.5, whole.action_space.shape).astype(np.float32)
            expected = whole.step(action)
            if rng.random() < 0.5:  # in three parts, as a vector env's threads run it
                before = split.before(action)
                split.integrate(mujoco)
                got = split.after(action, before)
            else:  # in one call, as a single env runs it
                got = split.step(action)
            assert same(expected, got), (env_id, expected, got)
            if expected[2]:
                terminations += 1
                break
    if env_id == "Hopper-v5":
        assert terminations > 0  # the comparison went through a termination


class _Subclass(HalfCheetahEnv):
    """A subclass may step differently: it gets no split step."""


def test_only_the_exact_v5_classes_get_a_split_step_and_never_when_rendering_for_humans() -> None:
    assert split_step(_Subclass()) is None
    assert split_step(gym.make("Pendulum-v1").unwrapped) is None
    assert split_step(gym.make("HalfCheetah-v5", render_mode="human").unwrapped) is None
    for name in ("halfcheetah_vel", "halfcheetah_dir", "ant_goal", "hopper_params", "walker_params"):
        family = cast(SimFamily[Any], get_family(name)())
        assert family.split_step(family.build()) is not None, name
    lander = cast(SimFamily[Any], get_family("lunarlander")())
    assert lander.split_step(lander.build()) is None  # stepped whole


def test_the_installed_gymnasium_has_the_code_the_split_steps_reproduce() -> None:
    assert [name for name in REFERENCE_SOURCE_DIGESTS if not reference_source_matches(name)] == []


@pytest.fixture
def changed_gymnasium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """``change(name)`` makes the installed source of ``name`` look changed (a digest that
    no source has)."""

    def change(name: str) -> None:
        digests = {**REFERENCE_SOURCE_DIGESTS, name: frozenset({"0" * 64})}
        monkeypatch.setattr(mujoco_split, "REFERENCE_SOURCE_DIGESTS", MappingProxyType(digests))
        reference_source_matches.cache_clear()

    yield change
    reference_source_matches.cache_clear()


def _whole(env_id: str, **kwargs: Any) -> Any:
    return gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped


def test_a_changed_step_or_simulation_in_gymnasium_keeps_the_simulators_own_step(
    changed_gymnasium: Callable[[str], None],
) -> None:
    changed_gymnasium("half_cheetah_v5.HalfCheetahEnv.step")
    assert split_step(_whole("HalfCheetah-v5")) is None
    assert split_step(_whole("Hopper-v5")) is not None  # only the changed class
    family = cast(SimFamily[Any], get_family("halfcheetah_vel")())
    assert family.split_step(family.build()) is None
    changed_gymnasium("mujoco_env.MujocoEnv._step_mujoco_simulation")  # every class's simulation
    for env_id in ("Hopper-v5", "Walker2d-v5", "Ant-v5"):
        assert split_step(_whole(env_id)) is None, env_id


def test_a_changed_cheetah_helper_keeps_the_split_but_not_the_written_out_step(
    changed_gymnasium: Callable[[str], None],
) -> None:
    changed_gymnasium("half_cheetah_v5.HalfCheetahEnv._get_rew")
    whole, cut = _whole("HalfCheetah-v5"), _whole("HalfCheetah-v5")
    split = split_step(cut)
    assert split is not None
    assert split._after is mujoco_split._cheetah_after  # the env's own helpers, not the inline copy
    rng = np.random.default_rng(0)
    assert same(whole.reset(seed=0), cut.reset(seed=0))
    for _ in range(10):
        action = rng.uniform(-1, 1, whole.action_space.shape).astype(np.float32)
        assert same(whole.step(action), split.step(action))


@pytest.mark.parametrize("spec_id", ["mtml/HalfCheetahVel-v0", "mtml/HopperParams-v0", "mtml/AntDir-v0"])
def test_the_single_env_steps_its_simulator_through_the_split_step(spec_id: str) -> None:
    env = gym.make(spec_id)
    env.reset(seed=0)
    simulator = env.unwrapped.simulator  # type: ignore[attr-defined]
    has_split = split_step(simulator) is not None
    calls = []
    whole_step = simulator.step
    simulator.step = lambda action: calls.append(action) or whole_step(action)
    env.unwrapped._sim_slot._attach()  # type: ignore[attr-defined]  # as an unpickled env does
    env.step(env.action_space.sample())
    assert has_split
    assert calls == []
