"""The one-slot path of the single env agrees exactly with the batched path.

Every built-in numpy family is a :class:`~mtml_rl.families.kernel.KernelFamily`: its dynamics
are written once and run batched with numpy (the vector env) or on Python floats, through
kernels derived from the same source (:mod:`mtml_rl.families.scalarize`; the single env).
Checked here, for every family, over tasks sampled from every split:

- the kernels: the derived one-slot kernels and the kernels run with the scalar namespace
  give, from random states and actions, exactly what the batched ``Family`` functions give;
- the environments: ``gym.make`` (the one-slot engine) and the same env on the batched
  engine with one slot (:class:`~mtml_rl.envs.single.BatchedSlot`) give identical
  trajectories (observations, rewards, flags, ``info``) across resets, ``set_task``, tasks
  forced for one episode, trials, every context mode and a history window;
- the guards: the scalar namespace takes numpy's function where ``math``'s differs, and a
  step whose floats raise (an overflow, ``cos(inf)``) is recomputed with numpy.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mtml_rl
from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.kernel_slot import KernelSlot, scalar_kernels
from mtml_rl.envs.single import BatchedSlot, MultiTaskEnv
from mtml_rl.envs.slot import SingleEngine
from mtml_rl.families.kernel import NUMPY, SCALAR_PROBES, KernelFamily, build_scalar_ops, scalar_ops, slot_ops
from mtml_rl.families.registry import get_family
from mtml_rl.families.scalarize import observed_transition, scalarize
from mtml_rl.specs import build_splits
from mtml_rl.tasks.task import Task

SLOTS = 64
"""Random states per task in the kernel comparison."""
TASKS_PER_SPLIT = 3


def family_of(spec_id: str) -> KernelFamily:
    family = get_family(mtml_rl.resolve_spec(spec_id).family)()
    assert isinstance(family, KernelFamily), f"{spec_id}: every built-in numpy family is a KernelFamily"
    return family


def sampled_tasks(spec_id: str, seed: int = 0) -> list[Task]:
    """A few tasks of every split, chosen with a seeded generator."""
    rng = np.random.default_rng(seed)
    chosen: list[Task] = []
    for split in build_splits(mtml_rl.resolve_spec(spec_id)).values():
        picks = rng.choice(len(split), size=min(TASKS_PER_SPLIT, len(split)), replace=False)
        chosen += [split.tasks[i] for i in picks]
    return chosen


def random_actions(family: KernelFamily, rng: np.random.Generator, n: int) -> np.ndarray:
    """Batched actions, continuous ones partly outside [-1, 1] (the kernels clip)."""
    space = family.action_space()
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, int(space.n), size=n)
    return rng.uniform(-1.5, 1.5, size=(n, *space.shape))


def wander(family: KernelFamily, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(S, N)`` states reached by a few random batched steps from random initial states."""
    state = family.initial_state(rng.random((params.shape[1], family.n_reset_uniforms)), params)
    for _ in range(int(rng.integers(0, 30))):
        state = family.step(state, random_actions(family, rng, params.shape[1]), params).state
    return state


def scalar_action(family: KernelFamily, action: np.ndarray) -> Any:
    if isinstance(family.action_space(), gym.spaces.Discrete):
        return int(action)
    return np.asarray(action, dtype=np.float64).reshape(-1).tolist()


def assert_same(ours: Any, expected: Any, where: str) -> None:
    """Exact equality (NaN equal to NaN), element by element."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), f"{where}: {ours} != {expected}"


# -- kernels ------------------------------------------------------------------------------------
def check_kernels_on_one_slot(
    family: KernelFamily, kernels: Any, xp: Any, state: np.ndarray, action: np.ndarray, params: np.ndarray
) -> None:
    """One slot's scalar kernels against column 0 of the batched functions."""
    p = tuple(params[:, 0].tolist())
    s = tuple(state[:, 0].tolist())
    batched = family.step(state[:, :1], action[:1], params[:, :1])
    derived = kernels.derive(xp, p)
    next_state, reward, terminated = kernels.transition(xp, s, scalar_action(family, action[0]), p, derived)
    assert_same(next_state, batched.state[:, 0], "state")
    assert_same(reward, batched.reward[0], "reward")
    assert terminated == bool(batched.terminated[0])
    assert_same(
        np.array(kernels.observation(xp, next_state, p), dtype=np.float32),
        family.observe(batched.state, params[:, :1])[0],
        "obs",
    )
    success = family.success(batched.state, params[:, :1])
    if success is not None:
        assert bool(kernels.succeeded(xp, next_state, p)) == bool(success[0])
        if family.success_is_termination:
            assert bool(success[0]) == terminated, "success_is_termination is declared but false here"


@pytest.mark.parametrize("derived", [True, False], ids=["derived", "namespace"])
@pytest.mark.fast_subset(
    {"derived": True}, {"numpy_spec_id": ("mtml/CartPole-v0", "mtml/MountainCarContinuous-v0")}
)
def test_scalar_kernels_equal_the_batched_functions(numpy_spec_id: str, derived: bool) -> None:
    family = family_of(numpy_spec_id)
    xp = scalar_ops()
    kernels = scalar_kernels(family) if derived else family
    rng = np.random.default_rng(1)
    for task in sampled_tasks(numpy_spec_id):
        params = np.repeat(type(family).params_array([task]), SLOTS, axis=1)
        uniforms = rng.random((SLOTS, family.n_reset_uniforms))
        start = family.initial_state(uniforms, params)
        p = tuple(params[:, 0].tolist())
        assert_same(kernels.start(xp, tuple(uniforms[0].tolist()), p), start[:, 0], "start")
        state = wander(family, params, rng)
        actions = random_actions(family, rng, SLOTS)
        for k in range(SLOTS):
            check_kernels_on_one_slot(family, kernels, xp, state[:, k:], actions[k:], params)


def test_the_derived_kernels_have_no_namespace_calls_left() -> None:
    """The rewrite reaches every ``xp.<op>`` of the kernels (and of helpers such as ``rk4``)."""
    for spec_id in ("mtml/CartPole-v0", "mtml/MountainCarContinuous-v0", "mtml/Acrobot-v0"):
        transition = scalarize(type(family_of(spec_id)).transition)
        assert transition is not type(family_of(spec_id)).transition
        assert "xp" not in transition.__code__.co_names, f"{spec_id}: attribute calls on xp remain"


def test_roundings_in_a_branch_of_where_are_hoisted_into_it() -> None:
    """``name = xp.where(c, a, xp.f32(b))`` becomes an ``if`` statement whose branch rounds
    through the float32 view, not a struct round trip (MountainCarContinuous's ``3 x``)."""
    transition = scalarize(type(family_of("mtml/MountainCarContinuous-v0")).transition)
    assert "_xp_unpack" not in transition.__code__.co_names, "a rounding in a branch is a struct round trip"
    derived = scalarize(_roundings)
    assert "_xp_unpack" not in derived.__code__.co_names


def test_a_kernel_that_cannot_be_rewritten_is_used_as_written() -> None:
    offset = 1.0

    def closure(xp: Any, x: float) -> Any:
        return xp.cos(x) + offset

    assert scalarize(closure) is closure
    assert scalarize(len) is len


def _rounded_sum(xp: Any, x: Any, y: Any) -> Any:
    """A helper kernel that rounds to float32 too (called inside its caller's statements)."""
    return xp.f32(xp.f32(x * 3.0) + xp.f32(y / 7.0))


def _roundings(xp: Any, x: Any, y: Any) -> Any:
    """float32 roundings always evaluated (hoisted), in branches (kept in place), several in
    one statement, around helper calls that round on the same thread's view."""
    a = xp.f64(xp.f32(x)) + xp.f64(_rounded_sum(xp, y, x)) * xp.f64(xp.f32(y))
    b = xp.where(x > y, xp.f32(x * y), xp.f32(x - y))
    c = xp.clip(xp.f32(a - y), -5.0, 5.0)
    return a, xp.f64(b), xp.f64(c), xp.f64(_rounded_sum(xp, xp.f32(a), c)) - xp.f64(xp.f32(y))


def test_hoisted_float32_roundings_equal_numpys() -> None:
    derived = scalarize(_roundings)
    assert derived is not _roundings and "_xp_f32v" in derived.__code__.co_varnames, "nothing hoisted"
    rng = np.random.default_rng(4)
    x, y = rng.normal(0.0, 3.0, 500), rng.normal(0.0, 3.0, 500)
    expected = np.asarray(_roundings(NUMPY, x, y), dtype=np.float64)
    xp = scalar_ops()
    got = np.array([derived(xp, a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]).T
    assert_same(got, expected, "hoisted roundings")


def test_hoisted_roundings_use_the_namespace_view_where_it_has_one() -> None:
    """A one-slot engine's namespace (``slot_ops``) carries its own float32 view, which the
    derived kernel rounds through instead of the thread's; the values are the same."""
    derived = scalarize(_roundings)
    own = slot_ops()
    assert own.f32view is not None and own.f32view is not slot_ops().f32view and scalar_ops().f32view is None
    for x, y in ((0.3, -2.5), (1e-3, 7.0), (-4.0, 0.1)):
        assert (
            derived(own, x, y)
            == derived(scalar_ops(), x, y)
            == tuple(float(v) for v in _roundings(NUMPY, x, y))
        )
        assert own.f32view[0] != 0.0, "the namespace's view was not used"
        own.f32view[0] = 0.0


def test_the_observed_transition_equals_the_transition_then_the_observation(numpy_spec_id: str) -> None:
    """Every built-in family's observation is inlined into its transition (one call per step),
    and the fused kernel returns what the two kernels return in turn."""
    family = family_of(numpy_spec_id)
    kind = type(family)
    fused = observed_transition(kind.transition, kind.observation)
    assert fused is not None, f"{numpy_spec_id}: the observation was not inlined"
    kernels, xp = scalar_kernels(family), slot_ops()
    rng = np.random.default_rng(5)
    task = sampled_tasks(numpy_spec_id)[0]
    params = np.repeat(kind.params_array([task]), 16, axis=1)
    p = tuple(params[:, 0].tolist())
    derived = kernels.derive(xp, p)
    states, actions = wander(family, params, rng), random_actions(family, rng, 16)
    for k in range(16):
        s, a = tuple(states[:, k].tolist()), scalar_action(family, actions[k])
        next_state, reward, terminated = kernels.transition(xp, s, a, p, derived)
        expected = (next_state, kernels.observation(xp, next_state, p), reward, terminated)
        got = fused(family, xp, s, a, p, derived)
        assert_same(got[0], expected[0], "state")
        assert_same(got[1], expected[1], "obs")
        assert got[2:] == expected[2:]


LIMIT = 2.0


def _toy_transition(self: Any, xp: Any, state: Any, action: Any, params: Any, derived: Any) -> Any:
    out = (xp.f32(state[0] + action), state[1] * params[0]), 1.0, False
    return out  # not a literal triple: unpacked before the observation


def _toy_observation(self: Any, xp: Any, state: Any, params: Any) -> Any:
    scaled = xp.f32(state[0] * params[0])
    return scaled, xp.clip(state[1], -LIMIT, LIMIT)


def _toy_transition_with_limit(self: Any, xp: Any, state: Any, action: Any, params: Any, derived: Any) -> Any:
    LIMIT = 5.0  # shadows the global the observation reads
    return (state[0] + action + LIMIT, state[1]), 0.0, False


def _toy_observation_with_scope(self: Any, xp: Any, state: Any, params: Any) -> Any:
    return tuple(xp.f32(v) for v in state)


def test_observations_are_inlined_only_where_the_names_allow() -> None:
    fused = observed_transition(_toy_transition, _toy_observation)
    assert fused is not None
    xp = slot_ops()
    state, params = (0.1, -3.0), (1.5,)
    next_state, reward, terminated = _toy_transition(None, xp, state, 0.7, params, ())
    assert fused(None, xp, state, 0.7, params, ()) == (
        next_state,
        _toy_observation(None, xp, next_state, params),
        reward,
        terminated,
    )
    assert observed_transition(_toy_transition_with_limit, _toy_observation) is None
    assert observed_transition(_toy_transition, _toy_observation_with_scope) is None


# -- environments -------------------------------------------------------------------------------
class BatchedMultiTaskEnv(MultiTaskEnv):
    """The single env on the batched engine with one slot: the reference for the one-slot path."""

    def _build_engine(self, setup: EnvSetup, trial_episodes: int) -> SingleEngine:
        return BatchedSlot(
            setup.family,
            setup.spec,
            setup.tasks,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
        )


def assert_obs_equal(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_obs_equal(a[key], b[key], f"{where}[{key}]")
        return
    assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b), f"{where}: {a} != {b}"


def compare_episode(ours: gym.Env[Any, Any], ref: gym.Env[Any, Any], actions: list[Any], where: str) -> None:
    for t, action in enumerate(actions):
        step, ref_step = ours.step(action), ref.step(action)
        assert_obs_equal(step[0], ref_step[0], f"{where} step {t}")
        assert step[1:] == ref_step[1:], f"{where} step {t}: {step[1:]} != {ref_step[1:]}"
        assert type(step[1]) is float and type(step[2]) is bool, f"{where}: reward and flags are Python types"
        if step[2] or step[3]:
            return


def reset_both(ours: gym.Env[Any, Any], ref: gym.Env[Any, Any], where: str, **kwargs: Any) -> None:
    (obs, info), (ref_obs, ref_info) = ours.reset(**kwargs), ref.reset(**kwargs)
    assert_obs_equal(obs, ref_obs, f"{where} reset")
    assert info == ref_info, f"{where} reset info"


@pytest.mark.parametrize(
    ("context", "history_len", "trial_episodes"),
    [("hidden", 0, 1), ("visible", 0, 1), ("privileged", 3, 1), ("hidden", 2, 3)],
    ids=["hidden", "visible", "privileged-history", "history-trials"],
)
@pytest.mark.fast_subset(  # every family once, every layout at least once
    {"numpy_spec_id": "mtml/Acrobot-v0", "context": "visible"},
    {"numpy_spec_id": "mtml/CartPole-v0", "trial_episodes": 3},
    {"numpy_spec_id": "mtml/MountainCarContinuous-v0", "context": "privileged"},
    {"numpy_spec_id": "mtml/Pendulum-v0", "context": "hidden", "trial_episodes": 1},
    {"numpy_spec_id": "mtml/PointNav-v0", "trial_episodes": 3},
)
def test_single_env_equals_the_batched_engine(
    numpy_spec_id: str, context: str, history_len: int, trial_episodes: int
) -> None:
    """Across resets, ``set_task`` to sampled tasks of every split, forced tasks and trials."""
    if context != "hidden" and not mtml_rl.resolve_spec(numpy_spec_id).privileged_context:
        pytest.skip(f"{numpy_spec_id} declares privileged_context: false")
    kwargs = {"context": context, "history_len": history_len, "trial_episodes": trial_episodes}
    ours = gym.make(numpy_spec_id, max_episode_steps=40, **kwargs)
    ref = gym.wrappers.TimeLimit(BatchedMultiTaskEnv(numpy_spec_id, **kwargs), max_episode_steps=40)
    assert isinstance(ours.unwrapped, MultiTaskEnv) and isinstance(ours.unwrapped._engine, KernelSlot)
    space = ours.action_space
    space.seed(3)
    tasks = sampled_tasks(numpy_spec_id, seed=2)
    reset_both(ours, ref, "split", seed=5)
    for episode in range(4):  # tasks drawn by the scheduler
        compare_episode(ours, ref, [space.sample() for _ in range(40)], f"split episode {episode}")
        reset_both(ours, ref, f"split episode {episode}")
    for k, task in enumerate(tasks):
        if k % 2 == 0:
            ours.unwrapped.set_task(task)  # type: ignore[attr-defined]
            ref.unwrapped.set_task(task)  # type: ignore[attr-defined]
            reset_both(ours, ref, f"task {k}", options={"new_trial": True})
        else:
            reset_both(ours, ref, f"task {k}", options={"task": task})
        for episode in range(2):  # the second episode continues the trial (or draws again)
            compare_episode(ours, ref, [space.sample() for _ in range(40)], f"task {k} episode {episode}")
            reset_both(ours, ref, f"task {k} after episode {episode}")


@pytest.mark.parametrize("context", ["privileged", "hidden"])
def test_single_env_pickles_mid_episode_with_history(context: str) -> None:
    env = gym.make("mtml/Pendulum-v0", context=context, history_len=4)
    env.reset(seed=0)
    space = env.action_space
    space.seed(0)
    for _ in range(7):
        env.step(space.sample())
    clone = pickle.loads(pickle.dumps(env))
    for t in range(20):
        action = space.sample()
        assert_obs_equal(env.step(action)[0], clone.step(action)[0], f"step {t}")


def test_an_action_outside_the_space_is_a_clear_error() -> None:
    for spec_id, bad in (("mtml/CartPole-v0", 2), ("mtml/Pendulum-v0", np.array([1.5], dtype=np.float32))):
        env = gym.make(spec_id)
        env.reset(seed=0)
        with pytest.raises(mtml_rl.errors.TaskError, match="not in the action space"):
            env.step(bad)


@pytest.mark.parametrize(
    "bad",
    [
        np.float32(0.5),
        np.array(0.5, np.float32),
        np.zeros((1, 1), np.float32),
        np.zeros(2, np.float32),
        np.zeros(0, np.float32),
        np.array([0.5]),
        np.array([np.nan], np.float32),
    ],
    ids=["scalar", "0-d", "(1,1)", "(2,)", "(0,)", "float64", "nan"],
)
@pytest.mark.parametrize("history_len", [0, 2])
def test_a_one_component_action_of_another_shape_or_kind_is_a_clear_error(bad: Any, history_len: int) -> None:
    """The one-component fast check tests the shape by unpacking the values: every other
    shape, a float64 array and NaN still reach the space's check (with a history window too,
    whose step checks the action and takes its row in one call)."""
    env = gym.make("mtml/MountainCarContinuous-v0", history_len=history_len)
    env.reset(seed=0)
    with pytest.raises(mtml_rl.errors.TaskError, match="not in the action space"):
        env.step(bad)


@pytest.mark.parametrize("spec_id", ["mtml/CartPole-v0", "mtml/Acrobot-v0"])
def test_a_discrete_actions_row_in_one_call_equals_the_check_then_the_one_hot_row(spec_id: str) -> None:
    """With a history window a step checks a discrete action and takes its one-hot row in one
    call: the index and row of the check and the encoder called in turn, for every kind of
    integer the space accepts."""
    env = gym.make(spec_id, history_len=2)
    slot: Any = env.unwrapped._engine  # type: ignore[attr-defined]
    n = int(env.action_space.n)  # type: ignore[attr-defined]
    for value in range(n):
        kinds = [value, np.int64(value), np.int32(value), np.uint8(value), np.array(value)]
        for action in kinds + ([bool(value)] if value < 2 else []):
            index = slot._discrete_action(action)
            assert slot._discrete_action_row(action) == (index, slot._onehot[index]), repr(action)
            assert index == value


@pytest.mark.parametrize(
    "bad",
    [2, -1, np.int64(3), 1.0, np.float32(1.0), np.array([1]), np.array(1.0), "1"],
    ids=["2", "-1", "int64 3", "float", "float32", "(1,)", "0-d float", "str"],
)
@pytest.mark.parametrize("history_len", [0, 2])
def test_a_discrete_action_outside_the_space_or_of_another_kind_is_a_clear_error(
    bad: Any, history_len: int
) -> None:
    """Out of range, a float, an array of another shape: refused by the plain step's check
    and by the one-call check and row of a step with a history window alike."""
    env = gym.make("mtml/CartPole-v0", history_len=history_len)
    env.reset(seed=0)
    with pytest.raises(mtml_rl.errors.TaskError, match="not in the action space"):
        env.step(bad)


@pytest.mark.parametrize("spec_id", ["mtml/Pendulum-v0", "mtml/PointNav-v0"])
def test_list_actions_enter_the_history_window_as_in_the_batched_engine(spec_id: str) -> None:
    """Python floats (not float32 values) and float32 arrays, at and off the bounds: the
    window holds what the batched engine's float32 cast and clip give."""
    ours, ref = MultiTaskEnv(spec_id, history_len=4), BatchedMultiTaskEnv(spec_id, history_len=4)
    reset_both(ours, ref, "reset", seed=1)
    dim = int(np.prod(ours.action_space.shape))
    rng = np.random.default_rng(0)
    for t in range(24):
        values = rng.uniform(-1.0, 1.0, dim)
        choices = ([float(v) for v in values], [1.00000003] * dim, [-1.0] * dim, values.astype(np.float32))
        action = choices[t % len(choices)]
        step, ref_step = ours.step(action), ref.step(action)
        assert_obs_equal(step[0], ref_step[0], f"step {t}")
        assert step[1:] == ref_step[1:]


# -- guards -------------------------------------------------------------------------------------
def test_the_scalar_namespace_takes_numpy_where_math_differs() -> None:
    def sloppy_cos(x: float) -> float:
        return math.cos(x) * (1.0 + 2.0**-52)

    probes = {**SCALAR_PROBES, "cos": (sloppy_cos, np.cos, SCALAR_PROBES["cos"][2])}
    xp = build_scalar_ops(probes)
    assert xp.sin is math.sin
    assert xp.cos is not sloppy_cos and xp.cos(0.5) == float(np.cos(0.5))


def test_a_step_whose_floats_raise_is_recomputed_with_numpy() -> None:
    """``cos(inf)`` raises in ``math``; numpy returns NaN: the single env follows numpy."""
    env = gym.make("mtml/CartPole-v0", task={}).unwrapped
    env.reset(seed=0)
    engine = env._engine  # type: ignore[attr-defined]
    engine.state = (0.0, 0.0, math.inf, 0.0)
    family = family_of("mtml/CartPole-v0")
    params = type(family).params_array([family.default_task()])
    with np.errstate(invalid="ignore"):
        expected = family.step(np.array([[0.0], [0.0], [math.inf], [0.0]]), np.array([1]), params)
        obs, reward, terminated, _, _ = env.step(1)
    assert_same(engine.state, expected.state[:, 0], "state")
    with np.errstate(invalid="ignore"):
        assert_same(obs, family.observe(expected.state, params)[0], "obs")
    assert reward == float(expected.reward[0]) and terminated == bool(expected.terminated[0])


def test_a_subclass_keeps_its_own_step() -> None:
    """The env binds its engine's step for speed, but never over a subclass's ``step``."""

    class Counting(MultiTaskEnv):
        calls = 0

        def step(self, action: Any) -> Any:
            Counting.calls += 1
            return super().step(action)

    env = Counting("mtml/CartPole-v0", task={})
    env.reset(seed=0)
    env.step(0)
    assert Counting.calls == 1
