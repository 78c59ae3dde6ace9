"""The order a grid starts its trials in: the longest chain of work first, where a chain is a
trial and the trials that deploy its run; a trial released by the one it waits on starts
before the ready trials ranked after it."""

from __future__ import annotations

import pytest

from mtml_rl.benchmark import runner
from mtml_rl.benchmark.backends import ReadyTrials
from mtml_rl.benchmark.runner import longest_path_first
from mtml_rl.benchmark.trials import Trial

COSTS = {"short-dr": 3, "short-finetune": 10, "long-dr": 8, "small-dr": 5}
"""Estimated costs: ``short-finetune`` deploys ``short-dr``'s run."""


def trial(name: str) -> Trial:
    trained_by = "short-dr" if name == "short-finetune" else None
    return Trial(name, "mtml/CartPole-v0", name.split("-")[1], 0, name, name, {}, None, trained_by=trained_by)


@pytest.fixture
def trials(monkeypatch: pytest.MonkeyPatch) -> list[Trial]:
    monkeypatch.setattr(runner, "estimated_cost", lambda t: COSTS[t.name])
    return [trial(name) for name in ("small-dr", "long-dr", "short-finetune", "short-dr")]


def names(trials: list[Trial] | list[Trial | None]) -> list[str | None]:
    return [t and t.name for t in trials]


def test_a_cheap_trial_whose_run_a_costly_one_deploys_starts_first(trials: list[Trial]) -> None:
    assert names(longest_path_first(trials)) == ["short-dr", "short-finetune", "long-dr", "small-dr"]


def test_a_released_trial_goes_before_the_ready_ones_ranked_after_it(trials: list[Trial]) -> None:
    ready = ReadyTrials(longest_path_first(trials))
    started = [ready.next(), ready.next()]
    assert names(started) == ["short-dr", "long-dr"]  # short-finetune waits for short-dr's run
    ready.ended(trials[3])
    assert names(list(iter(ready.next, None))) == ["short-finetune", "small-dr"]
