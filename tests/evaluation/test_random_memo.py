"""The random baseline is played once per process for a spec, tasks, episodes and seed: a
second evaluation of the same spec reuses the returns (and still advances the progress)."""

from __future__ import annotations

import dataclasses

import pytest

import mtml_rl
from mtml_rl.evaluation import collect
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task


@pytest.fixture(autouse=True)
def empty_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "_RANDOM_MEMO", {})


def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the random agent's plays."""
    plays: list[int] = []
    original = collect._play_random

    def play(*args: object, **kwargs: object) -> list[float]:
        plays.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(collect, "_play_random", play)
    return plays


def pendulum_tasks() -> tuple[TaskSpec, list[Task]]:
    """Pendulum and three of its interpolation tasks."""
    spec = mtml_rl.resolve_spec("mtml/Pendulum-v0")
    return spec, list(build_splits(spec)["test-interpolation"].tasks[:3])


def test_the_same_measurement_is_played_once_and_gives_the_same_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plays = counted(monkeypatch)
    spec, tasks = pendulum_tasks()
    done: list[int] = []
    first = collect.random_returns(spec, tasks, episodes=2, seed=7, advance=done.append)
    again = collect.random_returns(spec, tasks, episodes=2, seed=7, advance=done.append)
    assert again == first and len(plays) == 1
    assert sum(done) == 2 * len(tasks), "a reused measurement still counts its tasks as done"
    assert collect._play_random(spec, tasks, episodes=2, seed=7, advance=None) == first, "as played afresh"


def test_another_seed_episode_count_task_list_or_spec_is_played_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plays = counted(monkeypatch)
    spec, tasks = pendulum_tasks()
    base = collect.random_returns(spec, tasks, episodes=1, seed=7)
    collect.random_returns(spec, tasks, episodes=1, seed=8)
    collect.random_returns(spec, tasks, episodes=2, seed=7)
    collect.random_returns(spec, tasks[:2], episodes=1, seed=7)
    shorter = dataclasses.replace(spec, max_episode_steps=50)
    short = collect.random_returns(shorter, tasks, episodes=1, seed=7)
    assert len(plays) == 5
    assert short != base, "a spec that defines other episodes is measured on its own"
    renamed = dataclasses.replace(spec, name="Renamed", description="the same tasks")
    assert collect.random_returns(renamed, tasks, episodes=1, seed=7) == base and len(plays) == 5


def test_the_memo_keeps_a_bounded_number_of_measurements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "RANDOM_MEMO_SIZE", 2)
    plays = counted(monkeypatch)
    spec = mtml_rl.resolve_spec("mtml/CartPole-v0")
    tasks = list(build_splits(spec)["train"].tasks[:2])
    for seed in (1, 2, 3):
        collect.random_returns(spec, tasks, episodes=1, seed=seed)
    assert len(collect._RANDOM_MEMO) == 2
    collect.random_returns(spec, tasks, episodes=1, seed=3)
    collect.random_returns(spec, tasks, episodes=1, seed=1)  # the oldest was dropped
    assert len(plays) == 4
