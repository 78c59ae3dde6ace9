"""Tuning reads only the train split: its runs train on a copy of the spec without test
splits (the same train tasks), and a whole study never asks for another split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mtml_rl.benchmark import tuning
from mtml_rl.benchmark.tuning import HISTORY_SPACE, SEARCH_SPACES, TuneSetup, search_space, train_only, tune
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.specs.splits import Splits, build_splits
from mtml_rl.training import Run, TrainConfig

CARTPOLE = "mtml/CartPole-v0"


def test_the_tuning_spec_keeps_the_train_tasks_and_nothing_else() -> None:
    spec = resolve_spec(CARTPOLE)
    only = train_only(spec)
    assert set(build_splits(only)) == {"train"}
    assert build_splits(only)["train"].tasks == build_splits(spec)["train"].tasks
    assert len(build_splits(spec)) > 1  # the original has test splits to leak


def test_history_methods_also_search_their_window() -> None:
    assert search_space(TuneSetup(CARTPOLE, "dr", "ppo", 1, 1)) == SEARCH_SPACES["ppo"]
    history = search_space(TuneSetup(CARTPOLE, "history", "ppo", 1, 1))
    assert set(history) == set(SEARCH_SPACES["ppo"]) | set(HISTORY_SPACE)


@pytest.mark.slow
def test_a_study_reads_only_the_train_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[str] = []
    original = Splits.__getitem__

    def recording(self: Splits, name: str):  # type: ignore[no-untyped-def]
        asked.append(name)
        return original(self, name)

    monkeypatch.setattr(Splits, "__getitem__", recording)
    trained: list[set[str]] = []
    real_train = tuning.train

    def train(config: TrainConfig, **kwargs: Any) -> Run:
        trained.append(set(build_splits(resolve_spec(config.env))))
        assert config.eval_freq == 0  # periodic evaluation would play every split
        return real_train(config, **kwargs)

    monkeypatch.setattr(tuning, "train", train)
    setup = TuneSetup(CARTPOLE, "history", "ppo", trials=2, timesteps=256, seeds=(0,))
    record = tune(setup, log=lambda _: None)
    assert asked and set(asked) == {"train"}
    assert trained == [{"train"}, {"train"}]  # each run's spec has no test split to read
    assert len(record.trials) == 2 and record.best in [t["values"] for t in record.trials]
    assert set(record.best) == set(SEARCH_SPACES["ppo"]) | set(HISTORY_SPACE)
    path = tmp_path / "record.yaml"
    record.write(path)
    written = yaml.safe_load(path.read_text())
    assert written["setup"]["method"] == "history" and written["best"] == record.best
    assert written["space"] == {**SEARCH_SPACES["ppo"], **HISTORY_SPACE}
