"""At default parameters the classic families reproduce Gymnasium's own environments.

Each test steps ``gym.make("mtml/<Name>-v0", task={})`` (and the batched vector env)
side by side with Gymnasium's reference env from the same seeds and the same actions
and requires identical observations, rewards and flags.

Box actions: Gymnasium's action is the family's scale times ours (Pendulum's torque is
``2 * a``; MountainCarContinuous's force is ``a``).

The one tolerance: Pendulum's reward. Gymnasium computes the torque cost ``0.001 *
u**2`` on a float32 scalar, and numpy's float32 scalar power calls C ``powf``, which is
not correctly rounded; numpy has no array operation that calls ``powf`` (``np.power``
on arrays uses its own SIMD code or ``u * u``), so the family uses the correctly
rounded ``u * u``. In about one step in a thousand ``u**2`` then differs in its last
float32 bit, which moves the reward by less than 1e-9. The torque's effect on the
motion uses no power, so observations and flags stay bit-identical; rewards are
compared within 1e-6 and are required to be bit-identical in the vast majority of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mtml_rl
from mtml_rl.families.base import Family

Policy = Callable[[np.ndarray, np.random.Generator], Any]
"""Maps a batch of observations ``(N, O)`` to a batch of our actions."""


def _random_policy(space: gym.spaces.Space[Any]) -> Policy:
    def act(obs: np.ndarray, rng: np.random.Generator) -> Any:
        n = obs.shape[0]
        if isinstance(space, gym.spaces.Discrete):
            return rng.integers(0, int(space.n), size=n)
        assert isinstance(space, gym.spaces.Box)
        return rng.uniform(-1.0, 1.0, size=(n, *space.shape)).astype(np.float32)

    return act


def _mountaincar_pump(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Push along the velocity (with noise): reaches the flag, hits the wall and speed limit."""
    push = np.where(obs[:, 1] >= 0, 1.0, -1.0) + rng.normal(0.0, 0.3, size=obs.shape[0])
    return np.clip(push, -1.0, 1.0).astype(np.float32).reshape(-1, 1)


def _acrobot_pump(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Torque in phase with the swing (with random actions mixed in): reaches the line."""
    pump = np.where(obs[:, 4] + 0.3 * obs[:, 5] > 0, 2, 0)
    return np.where(rng.random(obs.shape[0]) < 0.1, rng.integers(0, 3, size=obs.shape[0]), pump)


@dataclass(frozen=True)
class Case:
    """One classic family and how to drive its reference env."""

    spec_id: str
    reference_id: str
    action_scale: float | None
    """Gymnasium's action = scale * ours (``None`` for discrete actions)."""
    reward_atol: float
    """0 where rewards must be bit-identical (see the module docstring for Pendulum)."""
    pump: Policy | None = None
    """A goal-reaching policy used in half the episodes, so that termination happens."""

    def to_reference(self, action: Any) -> Any:
        if self.action_scale is None:
            return int(action)
        return (np.float32(self.action_scale) * np.asarray(action, dtype=np.float32)).astype(np.float32)


CASES = [
    Case("mtml/CartPole-v0", "CartPole-v1", None, 0.0),
    Case("mtml/Pendulum-v0", "Pendulum-v1", 2.0, 1e-6),
    Case("mtml/MountainCarContinuous-v0", "MountainCarContinuous-v0", 1.0, 0.0, _mountaincar_pump),
    Case("mtml/Acrobot-v0", "Acrobot-v1", None, 0.0, _acrobot_pump),
]
IDS = [c.reference_id for c in CASES]
EPISODES = 20


class RewardLedger:
    """Collects reward comparisons; exact everywhere unless the case allows a tolerance."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.steps = 0
        self.inexact = 0

    def check(self, ours: float, theirs: float, where: str) -> None:
        self.steps += 1
        if ours != theirs:
            self.inexact += 1
            assert self.case.reward_atol > 0, f"{where}: reward {ours!r} != {theirs!r}"
            assert abs(ours - theirs) <= self.case.reward_atol, f"{where}: reward {ours!r} vs {theirs!r}"

    def finish(self) -> None:
        assert self.steps > 0
        assert self.inexact <= max(1, self.steps // 100), f"{self.inexact} of {self.steps} rewards inexact"


def test_cases_cover_every_reference_family() -> None:
    """Every numpy family with a ``reference_id`` is compared here."""
    covered = {mtml_rl.resolve_spec(c.spec_id).family for c in CASES}
    for spec in mtml_rl.builtin_specs().values():
        family = spec.family_cls
        if isinstance(family, type) and issubclass(family, Family) and family.reference_id is not None:
            assert spec.family in covered, f"{spec.family} has a reference env but no reference test"


def _policy_for(case: Case, env: gym.Env[Any, Any], episode: int) -> Policy:
    if case.pump is not None and episode % 2 == 1:
        return case.pump
    return _random_policy(env.action_space)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.fast_subset({"case": [CASES[0], CASES[2]]})  # the others in test_vector_env_reproduces_...
def test_single_env_reproduces_reference(case: Case) -> None:
    ours, ref = gym.make(case.spec_id, task={}), gym.make(case.reference_id)
    default_id = mtml_rl.resolve_spec(case.spec_id).family_cls.default_task().id
    rng = np.random.default_rng(12345)
    ledger, terminations = RewardLedger(case), 0
    for episode in range(EPISODES):
        obs, info = ours.reset(seed=episode)
        ref_obs, _ = ref.reset(seed=episode)
        np.testing.assert_array_equal(obs, ref_obs, err_msg=f"reset, episode {episode}")
        assert info["task"] == default_id
        policy = _policy_for(case, ours, episode)
        for t in range(10_000):
            action = policy(obs[None], rng)[0]
            obs, reward, terminated, truncated, _ = ours.step(action)
            ref_obs, ref_reward, ref_terminated, ref_truncated, _ = ref.step(case.to_reference(action))
            where = f"episode {episode}, step {t}"
            np.testing.assert_array_equal(obs, ref_obs, err_msg=where)
            ledger.check(float(reward), float(ref_reward), where)
            assert (terminated, truncated) == (ref_terminated, ref_truncated), where
            if terminated or truncated:
                terminations += terminated
                break
    ledger.finish()
    if case.pump is not None or case.reference_id == "CartPole-v1":
        assert terminations > 0, "no episode terminated: the termination condition went untested"


def _check_autoreset_slot(
    ref: gym.Env[Any, Any], step: tuple[Any, ...], slot: int, vec_obs: np.ndarray, info: dict[str, Any]
) -> None:
    """After slot ``slot`` finished, its final obs is the reference's and its reset obs too."""
    ref_obs = step[0]
    np.testing.assert_array_equal(info["final_obs"][slot], ref_obs, err_msg=f"final obs, slot {slot}")
    reset_obs, _ = ref.reset()  # continues the slot's seeded stream, as the vector env does
    np.testing.assert_array_equal(vec_obs[slot], reset_obs, err_msg=f"autoreset obs, slot {slot}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.fast_subset({"case": [CASES[1], CASES[3]]})  # the others in test_single_env_reproduces_...
def test_vector_env_reproduces_reference(case: Case) -> None:
    n, seed = 8, 100
    vec = gym.make_vec(case.spec_id, num_envs=n, task={})
    refs = [gym.make(case.reference_id) for _ in range(n)]
    obs, _ = vec.reset(seed=seed)
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(obs[i], ref.reset(seed=seed + i)[0], err_msg=f"reset, slot {i}")
    rng = np.random.default_rng(7)
    random_policy = _random_policy(vec.single_action_space)
    ledger, finished = RewardLedger(case), 0
    for t in range(450):
        actions = random_policy(obs, rng)
        if case.pump is not None:  # even slots pump towards the goal, odd ones act at random
            pumped = case.pump(obs, rng)
            actions[::2] = pumped[::2]
        obs, rewards, terminated, truncated, info = vec.step(actions)
        for i, ref in enumerate(refs):
            step = ref.step(case.to_reference(actions[i]))
            where = f"step {t}, slot {i}"
            ledger.check(float(rewards[i]), float(step[1]), where)
            assert (bool(terminated[i]), bool(truncated[i])) == (step[2], step[3]), where
            if step[2] or step[3]:
                finished += 1
                _check_autoreset_slot(ref, step, i, obs, info)
            else:
                np.testing.assert_array_equal(obs[i], step[0], err_msg=where)
    ledger.finish()
    assert finished > 0, "no slot finished: autoreset went untested"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_render_matches_reference(case: Case) -> None:
    """``render()`` draws the same frame as Gymnasium's env in the same state."""
    ours = gym.make(case.spec_id, task={}, render_mode="rgb_array")
    ref = gym.make(case.reference_id, render_mode="rgb_array")
    ours.reset(seed=3)
    ref.reset(seed=3)
    space = ours.action_space
    space.seed(3)
    for _ in range(5):
        action = space.sample()
        ours.step(action)
        ref.step(case.to_reference(action))
    if case.reference_id == "Pendulum-v1":
        ref.unwrapped.last_u = None  # type: ignore[attr-defined]  # our frames draw no torque arrow
    frame, ref_frame = ours.render(), ref.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
    np.testing.assert_array_equal(frame, ref_frame)
