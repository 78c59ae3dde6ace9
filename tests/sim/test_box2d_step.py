"""LunarLander's step on Python floats gives Gymnasium's ``LunarLander.step`` bit for bit
(observation, reward, flags, ``info``, the env's random stream and its shaping and wind
state), at default and task-changed gravity, wind and turbulence, for actions at and beyond
every threshold of the step, through terminations; anything else is stepped by its own
``step``; the single and the vector env step LunarLander through it."""

from __future__ import annotations

import pickle
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.box2d.lunar_lander import LunarLander as GymLunarLander

from mtml_rl.envs import make_task_vector_env
from mtml_rl.families.box2d_step import LunarLanderStep, lunar_lander_step
from mtml_rl.families.registry import get_family
from mtml_rl.families.sim import SimFamily

REFERENCE = "LunarLanderContinuous-v3"
CASES = [
    {},
    {"gravity": -3.0},
    {"enable_wind": True, "wind_power": 15.0, "turbulence_power": 1.5},
    {"gravity": -11.5, "enable_wind": True, "wind_power": 5.0, "turbulence_power": 0.0},
]
EDGES = [-2.0, -1.0, -0.75, -0.5, -0.25, -0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0]
"""Throttles at and beyond the step's thresholds (0 for the main engine, ±0.5 for the side
engines, ±1 for the clip)."""


def same(a: Any, b: Any) -> bool:
    """Equal values (arrays: the same dtype and shape, bitwise; numbers: equal as floats)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        pairs = zip(a, b, strict=True) if isinstance(b, tuple) and len(a) == len(b) else None
        return pairs is not None and all(same(x, y) for x, y in pairs)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return float(a) == float(b)


def actions(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Random throttles, mostly within the space, some at the thresholds, some beyond, in
    float32 and float64."""
    out = []
    for _ in range(count):
        if rng.random() < 0.3:
            action = rng.choice(EDGES, size=2)
        else:
            action = rng.uniform(-1.3, 1.3, size=2)
        out.append(action.astype(np.float32 if rng.random() < 0.8 else np.float64))
    return out


def lander_state(env: Any) -> tuple[Any, ...]:
    """What a step leaves behind that the next one reads."""
    body = env.lander
    return (
        tuple(body.position),
        tuple(body.linearVelocity),
        body.angle,
        body.angularVelocity,
        None if env.prev_shaping is None else float(env.prev_shaping),
        int(getattr(env, "wind_idx", 0)),
        int(getattr(env, "torque_idx", 0)),
        env.np_random.bit_generator.state["state"]["state"],
    )


@pytest.mark.parametrize("kwargs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_the_float_step_gives_gymnasiums_own_step(kwargs: dict[str, Any]) -> None:
    whole, fast = (gym.make(REFERENCE, disable_env_checker=True, **kwargs).unwrapped for _ in range(2))
    step: Any = lunar_lander_step(fast)
    assert step is not None
    stepper = pickle.loads(pickle.dumps(step.__self__))  # rebuilt around a fresh simulator
    fast, step = stepper.sim, stepper.step
    rng = np.random.default_rng(len(kwargs))
    terminations = steps = 0
    for episode in range(6):
        assert same(whole.reset(seed=episode), fast.reset(seed=episode))
        for action in actions(rng, 400):
            expected = whole.step(action)
            got = step(action.copy())
            steps += 1
            assert same(expected, got), (episode, steps, action, expected, got)
            assert lander_state(whole) == lander_state(fast)
            if expected[2]:
                terminations += 1
                break
    assert terminations >= 3  # the comparison went through crashes or landings


class _Subclass(GymLunarLander):
    """A subclass may step differently: it is stepped by its own step."""


def test_only_the_continuous_unrendered_lander_itself_gets_the_float_step() -> None:
    assert lunar_lander_step(_Subclass(continuous=True)) is None
    assert lunar_lander_step(GymLunarLander(continuous=False)) is None
    assert lunar_lander_step(GymLunarLander(continuous=True, render_mode="rgb_array")) is None
    assert lunar_lander_step(gym.make("Pendulum-v1").unwrapped) is None
    family = cast(SimFamily[Any], get_family("lunarlander")())
    step: Any = family.whole_step(family.build())
    assert step is not None and isinstance(step.__self__, LunarLanderStep)


def test_a_gymnasium_whose_step_differs_keeps_its_own_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from mtml_rl.families import box2d_step

    assert box2d_step.reference_step_matches()  # the installed Gymnasium's step is the one reproduced
    box2d_step.reference_step_matches.cache_clear()
    monkeypatch.setattr(box2d_step, "REFERENCE_STEP_DIGESTS", frozenset({"0" * 64}))  # as a changed source
    try:
        assert lunar_lander_step(GymLunarLander(continuous=True)) is None
    finally:
        box2d_step.reference_step_matches.cache_clear()
    monkeypatch.setattr(box2d_step, "_SCALE", 31.0)  # as a changed constant
    try:
        assert lunar_lander_step(GymLunarLander(continuous=True)) is None
    finally:
        box2d_step.reference_step_matches.cache_clear()


def _count_own_steps(simulator: Any) -> list[Any]:
    calls: list[Any] = []
    own = simulator.step

    def counted(action: Any) -> Any:
        calls.append(action)
        return own(action)

    simulator.step = counted
    return calls


def test_the_single_env_steps_lunarlander_through_the_float_step() -> None:
    env = gym.make("mtml/LunarLander-v0")
    env.reset(seed=0)
    simulator = env.unwrapped.simulator  # type: ignore[attr-defined]
    calls = _count_own_steps(simulator)
    env.unwrapped._sim_slot._attach()  # type: ignore[attr-defined]  # as an unpickled env does
    env.step(env.action_space.sample())
    assert calls == []


def test_the_vector_env_steps_lunarlander_through_the_float_step() -> None:
    envs = make_task_vector_env("mtml/LunarLander-v0", num_envs=2)
    envs.reset(seed=0)
    slots: Any = envs.slots
    assert all(isinstance(step.__self__, LunarLanderStep) for step in slots.steps)
    calls = [_count_own_steps(sim) for sim in slots.sims]
    envs.step(np.zeros((2, 2), dtype=np.float32))
    assert calls == [[], []]
    envs.close()
