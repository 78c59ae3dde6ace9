"""Every parameter of every numpy family matters, is validated, and never goes stale.

- For each parameter in each family's schema, moving it off its default changes the
  trajectory from the same seed under the same actions (for PointNav's goal: the
  rewards change and the states do not).
- Invalid values (outside the physical bounds, not finite, not a number) raise
  :class:`~mtml_rl.errors.TaskError` naming the family, the parameter and the bounds.
- Derived quantities are recomputed from the parameters: a changed mass changes the
  motion, and scaling every mass together with the actuator leaves it exactly unchanged
  (which only holds if inertia, total mass and the like follow the masses).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pytest

import mtml_rl
from mtml_rl.errors import TaskError, UnknownNameError
from mtml_rl.families.base import Family
from mtml_rl.families.registry import family_names, get_family
from mtml_rl.tasks.params import ParamSpec


def _numpy_families() -> list[type[Family]]:
    out = []
    for name in family_names():
        cls = get_family(name)
        if isinstance(cls, type) and issubclass(cls, Family):
            out.append(cls)
    return out


FAMILIES = _numpy_families()
PARAMS = [(cls, spec) for cls in FAMILIES for spec in cls.param_specs()]
PARAM_IDS = [f"{cls.name}.{spec.name}" for cls, spec in PARAMS]
REWARD_ONLY = {("pointnav", "goal_x"), ("pointnav", "goal_y")}
"""Parameters that change the reward but, by design, not the dynamics."""


def _spec_id(family: type[Family]) -> str:
    """The built-in spec of ``family`` (every numpy family has one)."""
    for spec_id, spec in sorted(mtml_rl.builtin_specs().items()):
        if spec.family == family.name:
            return spec_id
    raise AssertionError(f"no built-in spec uses family {family.name!r}")


def _changed(spec: ParamSpec) -> float:
    """A valid value clearly away from the default (30% more, or 0.5 off a zero default)."""
    value = spec.default * 1.3 if spec.default != 0 else spec.default + 0.5
    assert spec.contains(value), f"{spec.name}: {value} outside [{spec.low}, {spec.high}]"
    return value


class Rollout(NamedTuple):
    """What a fixed-seed, fixed-action episode produced."""

    obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray


def _actions(space: gym.spaces.Space[Any], steps: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    if isinstance(space, gym.spaces.Discrete):
        return [int(a) for a in rng.integers(0, int(space.n), size=steps)]
    assert isinstance(space, gym.spaces.Box)
    return list(rng.uniform(-1.0, 1.0, size=(steps, *space.shape)).astype(np.float32))


def _env_rollout(spec_id: str, values: dict[str, float], steps: int = 40, seed: int = 3) -> Rollout:
    """Step the registered env on one task (no early stop: the dynamics keep running)."""
    env = gym.make(spec_id, task=values).unwrapped
    obs, _ = env.reset(seed=seed)
    observations, rewards, flags = [obs], [], []
    for action in _actions(env.action_space, steps, seed):
        obs, reward, terminated, _, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        flags.append(terminated)
    return Rollout(np.array(observations), np.array(rewards), np.array(flags))


def _family_rollout(cls: type[Family], values: dict[str, float], steps: int = 40, seed: int = 5) -> Rollout:
    """Step the family's pure dynamics directly on one slot."""
    family = cls()
    params = cls.params_array([cls.task(values)])
    rng = np.random.default_rng(seed)
    state = family.initial_state(rng.random((1, cls.n_reset_uniforms)), params)
    observations, rewards, flags = [family.observe(state, params)[0]], [], []
    for action in _actions(family.action_space(), steps, seed):
        out = family.step(state, np.array([action]), params)
        state = out.state
        observations.append(family.observe(state, params)[0])
        rewards.append(out.reward[0])
        flags.append(out.terminated[0])
    return Rollout(np.array(observations), np.array(rewards), np.array(flags))


# --------------------------------------------------------------------------------------------
# every parameter changes the trajectory
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "spec"), PARAMS, ids=PARAM_IDS)
def test_changing_a_parameter_changes_the_trajectory(cls: type[Family], spec: ParamSpec) -> None:
    spec_id = _spec_id(cls)
    base = _env_rollout(spec_id, {})
    changed = _env_rollout(spec_id, {spec.name: _changed(spec)})
    if (cls.name, spec.name) in REWARD_ONLY:
        np.testing.assert_array_equal(changed.obs, base.obs)
        assert np.abs(changed.rewards - base.rewards).max() > 1e-3
    else:
        assert np.abs(changed.obs - base.obs).max() > 1e-6, f"{spec.name} did not change the motion"


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_same_task_same_seed_same_trajectory(cls: type[Family]) -> None:
    """The comparisons above are meaningful: without a change, nothing changes."""
    spec_id = _spec_id(cls)
    a, b = _env_rollout(spec_id, {}), _env_rollout(spec_id, {})
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.rewards, b.rewards)


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_schema_is_complete(cls: type[Family]) -> None:
    for spec in cls.param_specs():
        assert spec.low < spec.high and spec.contains(spec.default), spec
        assert spec.doc.strip(), f"{cls.name}.{spec.name} has no doc"
    assert cls.params_cls.family == cls.name


# --------------------------------------------------------------------------------------------
# invalid values
# --------------------------------------------------------------------------------------------
def _invalid_values(spec: ParamSpec) -> list[Any]:
    span = spec.high - spec.low
    return [spec.low - 0.1 * span, spec.high + 0.1 * span, float("nan"), float("inf"), "1.0", True, None]


@pytest.mark.parametrize(("cls", "spec"), PARAMS, ids=PARAM_IDS)
def test_invalid_values_raise_task_error(cls: type[Family], spec: ParamSpec) -> None:
    for value in _invalid_values(spec):
        with pytest.raises(TaskError) as info:
            cls.task({spec.name: value})
        message = str(info.value)
        assert cls.name in message and repr(spec.name) in message, message
        if isinstance(value, float):
            assert f"[{spec.low}, {spec.high}]" in message, message


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_invalid_task_is_refused_by_the_env(cls: type[Family]) -> None:
    spec = cls.param_specs()[0]
    with pytest.raises(TaskError, match=spec.name):
        gym.make(_spec_id(cls), task={spec.name: spec.high * 10 + 1})


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_unknown_parameter_suggests_the_known_one(cls: type[Family]) -> None:
    name = cls.param_names()[0]
    with pytest.raises(UnknownNameError, match=f"did you mean '{name}'"):
        cls.task({name + "x": 1.0})


# --------------------------------------------------------------------------------------------
# derived quantities follow the parameters
# --------------------------------------------------------------------------------------------
def _scaled(cls: type[Family], factors: dict[str, float]) -> dict[str, float]:
    defaults = cls.params_cls().as_dict()
    return {name: defaults[name] * factor for name, factor in factors.items()}


SCALE_INVARIANCES = [
    # (family, parameters scaled together, by how much): the motion must not change at all.
    # Every term of the equations of motion is a mass times a length factor, or the
    # actuator; doubling all of them doubles every term exactly (a power of two).
    ("cartpole", {"cart_mass": 2.0, "pole_mass": 2.0, "actuator_gain": 2.0}),
    ("pendulum", {"mass": 2.0, "max_torque": 2.0}),
    ("acrobot", {"link_mass_1": 2.0, "link_mass_2": 2.0, "actuator_gain": 2.0}),
    ("mountaincar_continuous", {"engine_power": 2.0, "actuator_gain": 0.5}),
]
MASS_CHANGES = [
    ("cartpole", "pole_mass"),
    ("cartpole", "cart_mass"),
    ("pendulum", "mass"),
    ("acrobot", "link_mass_1"),
    ("acrobot", "link_mass_2"),
]


@pytest.mark.parametrize(("name", "factors"), SCALE_INVARIANCES, ids=[n for n, _ in SCALE_INVARIANCES])
def test_scaling_masses_with_the_actuator_leaves_the_motion_unchanged(
    name: str, factors: dict[str, float]
) -> None:
    cls = get_family(name)
    base = _family_rollout(cls, {})
    scaled = _family_rollout(cls, _scaled(cls, factors))
    np.testing.assert_array_equal(scaled.obs, base.obs)
    np.testing.assert_array_equal(scaled.terminated, base.terminated)


@pytest.mark.parametrize(("name", "param_name"), MASS_CHANGES, ids=[f"{n}.{p}" for n, p in MASS_CHANGES])
def test_doubling_a_mass_changes_the_motion(name: str, param_name: str) -> None:
    cls = get_family(name)
    base = _family_rollout(cls, {})
    heavier = _family_rollout(cls, _scaled(cls, {param_name: 2.0}))
    assert np.abs(heavier.obs - base.obs).max() > 1e-4


def test_pendulum_without_torque_swings_independently_of_its_mass() -> None:
    """Free swinging depends on g / l only; the mass enters only through the torque."""
    cls = get_family("pendulum")
    base = _family_rollout(cls, {"actuator_gain": 0.0})
    heavy = _family_rollout(cls, {"actuator_gain": 0.0, "mass": 50.0})
    np.testing.assert_array_equal(heavy.obs, base.obs)
    longer = _family_rollout(cls, {"actuator_gain": 0.0, "length": 2.0})
    assert np.abs(longer.obs - base.obs).max() > 1e-2


def test_acrobot_termination_height_follows_the_link_lengths() -> None:
    """Upper link straight up, lower link horizontal: the tip is at height ``l1``.

    The line is at ``(l1 + l2) / 2``, so this state is terminal exactly when ``l1 > l2``.
    """
    cls = get_family("acrobot")
    family = cls()
    state = np.array([[np.pi], [np.pi / 2], [0.0], [0.0]])
    for l1, l2, expected in [(1.2, 1.0, True), (1.0, 1.2, False), (1.0, 0.8, True), (0.8, 1.0, False)]:
        params = cls.params_array([cls.task({"link_length_1": l1, "link_length_2": l2})])
        success = family.success(state, params)
        assert success is not None and bool(success[0]) is expected, (l1, l2)


# --------------------------------------------------------------------------------------------
# PointNav: the goal changes the reward, not the dynamics
# --------------------------------------------------------------------------------------------
def test_pointnav_reward_is_minus_the_distance_to_the_goal() -> None:
    cls = get_family("pointnav")
    family = cls()
    params = cls.params_array([cls.task({"goal_x": 0.3, "goal_y": -0.4})])
    state = np.zeros((2, 1))
    out = family.step(state, np.array([[1.0, 0.0]]), params)
    np.testing.assert_allclose(out.state[:, 0], [0.1, 0.0])
    np.testing.assert_allclose(out.reward, [-np.hypot(0.2, -0.4)])
    assert not out.terminated[0]
    success = family.success(np.array([[0.3], [-0.35]]), params)
    assert success is not None and bool(success[0])
    failure = family.success(np.array([[0.3], [-0.2]]), params)
    assert failure is not None and not bool(failure[0])


def test_pointnav_goal_is_hidden_from_the_observation() -> None:
    cls = get_family("pointnav")
    near = _family_rollout(cls, {"goal_x": 0.5, "goal_y": 0.5})
    far = _family_rollout(cls, {"goal_x": -1.5, "goal_y": 1.0})
    np.testing.assert_array_equal(near.obs, far.obs)
    assert not np.array_equal(near.rewards, far.rewards)


# --------------------------------------------------------------------------------------------
# purity and actions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_step_is_pure(cls: type[Family]) -> None:
    family = cls()
    tasks = [cls.default_task(), cls.task({s.name: _changed(s) for s in cls.param_specs()})]
    params = cls.params_array(tasks)
    state = family.initial_state(np.random.default_rng(0).random((2, cls.n_reset_uniforms)), params)
    action = np.array([_actions(family.action_space(), 1, seed)[0] for seed in (1, 2)])
    copies = state.copy(), params.copy(), action.copy()
    first = family.step(state, action, params)
    second = family.step(state, action, params)
    for before, after in zip(copies, (state, params, action), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(first.state, second.state)
    np.testing.assert_array_equal(first.reward, second.reward)


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_box_actions_are_clipped_to_the_unit_box(cls: type[Family]) -> None:
    """A vector env may hand over actions outside [-1, 1]; they act as the nearest bound."""
    family = cls()
    space = family.action_space()
    if not isinstance(space, gym.spaces.Box):
        pytest.skip("discrete actions")
    assert space.dtype == np.float32 and (space.low == -1).all() and (space.high == 1).all()
    params = cls.params_array([cls.default_task()])
    state = family.initial_state(np.full((1, cls.n_reset_uniforms), 0.25), params)
    big = np.full((1, *space.shape), 3.0)
    edge = np.full((1, *space.shape), 1.0)
    np.testing.assert_array_equal(
        family.step(state, big, params).state, family.step(state, edge, params).state
    )


@pytest.mark.parametrize("cls", FAMILIES, ids=[c.name for c in FAMILIES])
def test_render_rgb_gives_a_frame(cls: type[Family]) -> None:
    family = cls()
    params = cls.params_array([cls.task({s.name: _changed(s) for s in cls.param_specs()})])
    state = family.initial_state(np.full((1, cls.n_reset_uniforms), 0.25), params)
    frame = family.render_rgb(state, params)
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.min() < frame.max(), "blank frame"
