"""Evaluation is deterministic for a fixed seed; the episodes of a task start differently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from evaluation_helpers import small_eval

from mtml_rl.agents.loading import load_agent
from mtml_rl.evaluation.collect import play
from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run


def test_the_same_seed_gives_the_same_results(runs: dict[str, Path], tmp_path: Path) -> None:
    config = small_eval(splits=("test-interpolation",))
    evaluate([runs["adapt"]], config, tmp_path / "a")
    evaluate([runs["adapt"]], small_eval(splits=("test-interpolation",)), tmp_path / "b")
    first = json.loads((tmp_path / "a" / "results.json").read_text())
    again = json.loads((tmp_path / "b" / "results.json").read_text())
    assert first == again
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()
    other, _ = evaluate([runs["adapt"]], small_eval(splits=("test-interpolation",), seed=5), tmp_path / "c")
    assert [e.ret for e in other.episodes] != [e["ret"] for e in first["episodes"]]


class FirstObservations:
    """Wraps an agent and records, per slot, the first observation of each episode."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name, self.privileged, self.requirements = agent.name, agent.privileged, agent.requirements
        self.starts: list[list[np.ndarray]] = []
        self._new: np.ndarray = np.zeros(0, dtype=bool)

    def reset(self, num_envs: int) -> None:
        self.agent.reset(num_envs)
        self.starts = [[] for _ in range(num_envs)]
        self._new = np.ones(num_envs, dtype=bool)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        for i in np.flatnonzero(self._new):
            self.starts[i].append(np.array(obs[i]))
        self._new[:] = False
        return self.agent.act(obs, deterministic)

    def observe(self, actions: Any, rewards: Any, dones: np.ndarray, trial_starts: Any) -> None:
        self.agent.observe(actions, rewards, dones, trial_starts)
        self._new |= dones


def test_episodes_of_a_task_start_from_distinct_states(runs: dict[str, Path]) -> None:
    run = Run.load(runs["dr"])
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks[:4])
    recorder = FirstObservations(load_agent(run))
    play(recorder, run.spec, tasks, episodes=3, trial_episodes=1, seed=0)
    for starts in recorder.starts:
        first_three = starts[:3]
        assert len(first_three) == 3
        assert all(not np.array_equal(a, b) for i, a in enumerate(first_three) for b in first_three[i + 1 :])
    again = FirstObservations(load_agent(run))
    play(again, run.spec, tasks, episodes=3, trial_episodes=1, seed=0)
    assert all(
        np.array_equal(a, b)
        for x, y in zip(recorder.starts, again.starts, strict=True)
        for a, b in zip(x[:3], y[:3], strict=True)
    )
