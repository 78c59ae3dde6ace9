"""Helpers shared by the simulator-backed family tests (``tests/sim``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

import mtml_rl
from mtml_rl.families.sim import is_sim_family
from mtml_rl.specs import TaskSpec, build_splits

SIM_SPEC_IDS = sorted(
    i for i, s in mtml_rl.builtin_specs().items() if is_sim_family(s.family_cls) and s.family != "metaworld"
)
"""Every built-in id whose family is a :class:`~mtml_rl.families.sim.SimFamily`, but Meta-World's
(tested under ``tests/metaworld``)."""


class Step(NamedTuple):
    """One recorded reset (reward ``nan``, flags false) or transition."""

    obs: np.ndarray
    reward: float
    terminated: bool
    truncated: bool


def actions(space: gym.spaces.Space[Any], n: int, seed: int) -> list[np.ndarray]:
    """``n`` uniform float32 actions in the Box ``space``, from ``seed``."""
    assert isinstance(space, gym.spaces.Box)
    rng = np.random.default_rng(seed)
    return [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(n)]


def rollout(env: gym.Env[Any, Any], seed: int, acts: Sequence[np.ndarray], **reset_kwargs: Any) -> list[Step]:
    """Reset with ``seed`` and play ``acts``; finished episodes reset without a seed."""
    obs, _ = env.reset(seed=seed, **reset_kwargs)
    out = [Step(np.asarray(obs, dtype=np.float32), float("nan"), False, False)]
    for action in acts:
        obs, reward, terminated, truncated, _ = env.step(action)
        out.append(Step(np.asarray(obs, dtype=np.float32), float(reward), terminated, truncated))
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(Step(np.asarray(obs, dtype=np.float32), float("nan"), False, False))
    return out


def assert_same_rollout(ours: list[Step], theirs: list[Step], *, rewards: bool = True) -> None:
    """Identical observations (as float32), flags and, if ``rewards``, rewards, bit for bit."""
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert np.array_equal(a.obs, b.obs), f"observation {k} differs"
        assert (a.terminated, a.truncated) == (b.terminated, b.truncated), f"flags {k} differ"
        if rewards:
            assert a.reward == b.reward or (np.isnan(a.reward) and np.isnan(b.reward)), f"reward {k} differs"


def same_trajectory(a: list[Step], b: list[Step]) -> bool:
    """Whether two rollouts are identical (observations, rewards and flags)."""
    try:
        assert_same_rollout(a, b)
    except AssertionError:
        return False
    return True


def check_tasks(spec: TaskSpec, n_sampled: int = 3) -> list[dict[str, float]]:
    """A few sampled tasks and the corners, as ``task=`` mappings.

    Sampled: the first task of each non-empty split, up to ``n_sampled``. Corners: every
    parameter at the low end and at the high end of the hull of its train and held-out
    regions; with two or fewer varying parameters, every combination of those ends.
    """
    splits = build_splits(spec)
    sampled = [split.tasks[0].as_dict() for split in splits.values()][:n_sampled]
    ends = []
    for p in spec.parameters:
        regions = [p.train] if p.extrapolation is None else [p.train, p.extrapolation]
        ends.append((min(r.low for r in regions), max(r.high for r in regions)))
    if len(ends) <= 2:
        combos = list(itertools.product(*ends))
    else:
        combos = [tuple(e[0] for e in ends), tuple(e[1] for e in ends)]
    corners = [{**spec.fixed, **dict(zip(spec.varying, c, strict=True))} for c in combos]
    return sampled + corners
