"""Evaluation is deterministic for a fixed seed; the episodes of a task start differently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from evaluation_helpers import small_eval

from mtml_rl.agents.loading import load_agent
from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.rollouts import SlotPlan, parallel_plan, play_plan, sequential_plan
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run


@pytest.mark.slow
def test_the_same_seed_gives_the_same_results(runs: dict[str, Path], tmp_path: Path) -> None:
    # results.json, results.csv and the pictures' list only: the pictures of an adapt run are
    # drawn (and checked) by the session's evaluation (test_outputs, test_figures)
    config = small_eval(splits=("test-interpolation",), figures=False)
    evaluate([runs["adapt"]], config, tmp_path / "a")
    evaluate([runs["adapt"]], small_eval(splits=("test-interpolation",), figures=False), tmp_path / "b")
    first = json.loads((tmp_path / "a" / "results.json").read_text())
    again = json.loads((tmp_path / "b" / "results.json").read_text())
    assert first == again
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()
    other, _ = evaluate(
        [runs["adapt"]], small_eval(splits=("test-interpolation",), seed=5, figures=False), tmp_path / "c"
    )
    assert [e.ret for e in other.episodes] != [e["ret"] for e in first["episodes"]]


class FirstObservations:
    """Wraps an agent and records the first observation of each episode of each task, by
    ``(task index, episode index)`` as the rollout's slot plan lays them out."""

    def __init__(self, agent: Any, plan: SlotPlan) -> None:
        self.agent = agent
        self.plan = plan
        self.name, self.privileged, self.requirements = agent.name, agent.privileged, agent.requirements
        self.starts: dict[tuple[int, int], np.ndarray] = {}
        self._played = np.zeros(plan.num_slots, dtype=np.int64)
        self._new = np.ones(plan.num_slots, dtype=bool)

    def reset(self, num_envs: int) -> None:
        self.agent.reset(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        for slot in np.flatnonzero(self._new & (self._played < self.plan.episodes)).tolist():
            key = (int(self.plan.task_index[slot]), self.plan.episode_index(slot, int(self._played[slot])))
            self.starts[key] = np.array(obs[slot])
        self._new[:] = False
        return self.agent.act(obs, deterministic)

    def observe(self, actions: Any, rewards: Any, dones: np.ndarray, trial_starts: Any) -> None:
        self.agent.observe(actions, rewards, dones, trial_starts)
        self._new |= dones
        self._played += dones


def test_episodes_of_a_task_start_from_distinct_states_in_any_layout(runs: dict[str, Path]) -> None:
    run = Run.load(runs["dr"])
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks[:4])
    layouts = {
        "one slot per task": sequential_plan(4, 3, 1, seed=0),
        "one slot per trial": parallel_plan(4, 3, 1, seed=0),
    }
    starts = {}
    for name, plan in layouts.items():
        recorder = FirstObservations(load_agent(run), plan)
        play_plan(recorder, run.spec, tasks, plan)
        starts[name] = recorder.starts
        assert sorted(recorder.starts) == [(i, j) for i in range(4) for j in range(3)]
        for i in range(4):
            first_three = [recorder.starts[(i, j)] for j in range(3)]
            assert all(
                not np.array_equal(a, b) for k, a in enumerate(first_three) for b in first_three[k + 1 :]
            )
    sequential, parallel = starts.values()
    assert all(np.array_equal(sequential[key], parallel[key]) for key in sequential)
