"""The vector env refuses what Gymnasium's batched envs refuse: discrete actions outside the
action space, NaN or infinite continuous actions, malformed reset masks, options and seeds, each
with one :class:`TaskError`; a refused call changes nothing. ``validate_actions=False`` turns the
action check off."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mtml_rl  # noqa: F401  (registers the ids)
from mtml_rl.errors import MtmlError, TaskError

N = 4
CARTPOLE, PENDULUM, POINTNAV = "mtml/CartPole-v0", "mtml/Pendulum-v0", "mtml/PointNav-v0"


def started(spec_id: str, **kwargs: Any) -> Any:
    env = gym.make_vec(spec_id, num_envs=N, **kwargs)
    env.reset(seed=3)
    return env


def snapshot(env: Any) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    slots = env.unwrapped.slots
    return slots.state.copy(), slots.obs.copy(), slots.current_tasks()


BAD_DISCRETE = [
    pytest.param(np.array([2, 0, 0, 0]), "action 2 of slot 0 is outside", id="2"),
    pytest.param(np.array([0, -1, 0, 0]), "action -1 of slot 1 is outside", id="-1"),
    pytest.param([1, 0, 1, 7], "action 7 of slot 3 is outside", id="7"),
    pytest.param(np.array([0.0, 1.0, 0.0, 1.0]), "must be integers in [0, 1]", id="floats"),
    pytest.param(np.array([0.5, 0, 0, 0]), "must be integers", id="half"),
    pytest.param(np.array(["a", "b", "c", "d"]), "must be integers", id="strings"),
    pytest.param(np.array([True, False, True, False]), "must be integers", id="bools"),
    pytest.param(np.array([0, 1, 0, 2**40]), "action 1099511627776 of slot 3", id="huge"),
    pytest.param(np.array([0, 1, 0, 255], dtype=np.uint8), "action 255 of slot 3", id="uint8"),
]


@pytest.mark.parametrize(("actions", "words"), BAD_DISCRETE)
def test_discrete_actions_outside_the_space_are_refused(actions: Any, words: str) -> None:
    env = started(CARTPOLE)
    before = snapshot(env)
    with pytest.raises(TaskError) as caught:
        env.step(actions)
    assert words in str(caught.value) and "validate_actions=False" in str(caught.value)
    after = snapshot(env)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
def test_every_integer_dtype_in_range_is_accepted(dtype: type) -> None:
    env = started(CARTPOLE)
    env.step(np.array([0, 1, 1, 0], dtype=dtype))


BAD_BOX = [
    pytest.param(PENDULUM, [[0.1], [np.nan], [0.0], [0.0]], "slot 1 is not finite", id="nan"),
    pytest.param(PENDULUM, [[np.inf], [0.0], [0.0], [0.0]], "slot 0 is not finite", id="inf"),
    pytest.param(PENDULUM, [[0.0], [0.0], [0.0], [-np.inf]], "slot 3 is not finite", id="-inf"),
    pytest.param(
        POINTNAV, [[0.0, 0.0], [0.0, np.nan], [0.0, 0.0], [0.0, 0.0]], "slot 1 is not finite", id="nav-nan"
    ),
    pytest.param(POINTNAV, [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [-np.inf, 2.0]], "slot 3", id="nav-inf"),
    pytest.param(PENDULUM, np.array([["x"], ["y"], ["z"], ["w"]]), "must be numbers", id="strings"),
]


@pytest.mark.parametrize(("spec_id", "actions", "words"), BAD_BOX)
def test_continuous_actions_outside_the_space_are_refused_and_change_nothing(
    spec_id: str, actions: Any, words: str
) -> None:
    env = started(spec_id)
    before = snapshot(env)
    with pytest.raises(TaskError, match="validate_actions=False") as caught:
        env.step(np.asarray(actions) if not isinstance(actions, np.ndarray) else actions)
    assert words in str(caught.value)
    after = snapshot(env)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert np.all(np.isfinite(after[0]))  # nothing poisoned the state


def test_continuous_actions_beyond_the_bounds_are_clipped_as_in_gymnasium() -> None:
    clipped, beyond = started(PENDULUM), started(PENDULUM)
    clipped.step(np.full((N, 1), 1.0, dtype=np.float32))
    beyond.step(np.full((N, 1), 5.0, dtype=np.float32))
    assert np.array_equal(clipped.unwrapped.slots.state, beyond.unwrapped.slots.state)


def test_the_action_check_can_be_turned_off() -> None:
    env = started(CARTPOLE, validate_actions=False)
    env.step(np.array([0, 1, 1, 0], dtype=np.int64))
    env.step(np.array([1.0, 0.0, 1.0, 0.0]))  # not checked: the caller vouches for its actions
    with pytest.raises(TaskError, match="shape"):  # the shape is always checked
        env.step(np.zeros(N + 1, dtype=np.int64))


BAD_RESETS: list[Any] = [
    pytest.param({"options": "x"}, "options must be a dict", id="options-str"),
    pytest.param({"options": ["reset_mask"]}, "options must be a dict", id="options-list"),
    pytest.param({"options": {"rest_mask": None}}, "unknown reset option 'rest_mask'", id="typo"),
    pytest.param({"options": {"reset_mask": [True]}}, "shape (4,)", id="mask-short"),
    pytest.param({"options": {"reset_mask": np.ones(5, dtype=bool)}}, "shape (4,)", id="mask-long"),
    pytest.param({"options": {"reset_mask": np.array([1, 0, 1, 0])}}, "boolean array", id="mask-ints"),
    pytest.param({"options": {"reset_mask": "TTTT"}}, "boolean array", id="mask-str"),
    pytest.param({"options": {"reset_mask": np.ones((2, 2), dtype=bool)}}, "shape (4,)", id="mask-2d"),
    pytest.param({"options": {"task": {"length": float("nan")}}}, "'length' = nan", id="task-nan"),
    pytest.param({"options": {"task": {"length": float("inf")}}}, "'length' = inf", id="task-inf"),
    pytest.param({"options": {"task": {"lenght": 1.0}}}, "lenght", id="task-typo"),
    pytest.param({"options": {"task": "long"}}, "task", id="task-str"),
    pytest.param({"seed": [1, 2]}, "2 seeds for 4 slots", id="seeds-short"),
    pytest.param({"seed": -1}, "seeds must be integers >= 0", id="seed-negative"),
    pytest.param({"seed": 1.5}, "seed must be an integer", id="seed-float"),
    pytest.param({"seed": "7"}, "seed must be an integer", id="seed-str"),
    pytest.param({"seed": [0, 1, 2, 3.5]}, "seeds must be integers", id="seed-list-float"),
]


@pytest.mark.parametrize(("kwargs", "words"), BAD_RESETS)
def test_malformed_resets_are_refused_and_change_nothing(kwargs: dict[str, Any], words: str) -> None:
    env = started(CARTPOLE)
    env.step(np.array([0, 1, 0, 1]))
    before = snapshot(env)
    with pytest.raises(MtmlError) as caught:
        env.reset(**kwargs)
    assert words in str(caught.value)
    after = snapshot(env)
    assert np.array_equal(before[0], after[0]) and before[2] == after[2]


def test_reset_mask_and_task_options_apply_to_the_chosen_slots() -> None:
    env = started(CARTPOLE)
    task = {"length": 1.25, "actuator_gain": -1.0}
    mask = np.array([False, True, False, True])
    before = env.unwrapped.current_tasks()
    env.reset(options={"reset_mask": mask, "task": task})
    after = env.unwrapped.current_tasks()
    assert [{k: after[i].as_dict()[k] for k in task} for i in (1, 3)] == [task, task]
    assert [after[i] for i in (0, 2)] == [before[i] for i in (0, 2)]
    env.reset(options={"reset_mask": [True, False, False, False]})  # a list of bools is an array of bools
