"""Families with a slot limit (``max_slots``: Meta-World's simulators are large) are evaluated in
chunks of that many slots, with exactly the episodes an unlimited vector env plays."""

from __future__ import annotations

import numpy as np
import pytest

import mtml_rl
from mtml_rl.evaluation import collect
from mtml_rl.families.cartpole import CartPole
from mtml_rl.rollouts import ObsRequirements, rollout_tasks
from mtml_rl.rollouts.episodes import chunks, slot_limit
from mtml_rl.specs import build_splits


def test_chunks_cover_the_list_in_order() -> None:
    tasks = list(range(7))
    assert chunks(tasks, None) == [(0, tasks)] and chunks(tasks, 7) == [(0, tasks)]  # type: ignore[arg-type]
    assert chunks(tasks, 3) == [(0, [0, 1, 2]), (3, [3, 4, 5]), (6, [6])]  # type: ignore[arg-type]


class PoleAgent:
    """Pushes towards the side the pole leans to (a deterministic agent)."""

    name = "pole"
    privileged = False
    requirements = ObsRequirements()

    def reset(self, num_envs: int) -> None:
        """Stateless."""

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Right when the pole leans right."""
        return (obs[:, 2] > 0).astype(np.int64)

    def observe(self, *args: object) -> None:
        """Stateless."""


def test_a_slot_limit_plays_the_same_episodes(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = mtml_rl.resolve_spec("mtml/CartPole-v0")
    tasks = list(build_splits(spec)["test-interpolation"].tasks[:7])

    def policy(obs: np.ndarray) -> np.ndarray:
        return (obs[:, 2] > 0).astype(np.int64)

    def played() -> list[tuple[int, int, float, int]]:
        out = collect.play(PoleAgent(), spec, tasks, episodes=2, trial_episodes=1, seed=5)
        return [(p.task_index, p.index, p.ret, p.length) for p in out]

    whole, records = played(), rollout_tasks(policy, spec, tasks, episodes=2, seed=5)
    monkeypatch.setattr(CartPole, "max_slots", 3, raising=False)
    assert slot_limit(spec) == 3
    assert played() == whole
    assert rollout_tasks(policy, spec, tasks, episodes=2, seed=5) == records
