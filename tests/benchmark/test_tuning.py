"""Tuning reads only the train split: its runs train on a copy of the spec without test
splits (the same train tasks), and a whole study never asks for another split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from gymnasium import spaces

from mtml_rl.benchmark import tuning
from mtml_rl.benchmark.tuning import (
    HISTORY_SPACE,
    SEARCH_SPACES,
    TuneSetup,
    search_space,
    train_only,
    trial_config,
    tune,
)
from mtml_rl.errors import ConfigError
from mtml_rl.methods.pearl import KL_WEIGHT_PATH, PearlMethod
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


def test_a_method_adds_its_own_hyperparameters_to_the_space() -> None:
    space = search_space(TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 1))
    assert space == {**SEARCH_SPACES["sac"], **HISTORY_SPACE, KL_WEIGHT_PATH: {"log": [1e-3, 3e-1]}}


def test_drawn_values_reach_the_config_fields_and_the_nested_hyperparameters(tmp_path: Path) -> None:
    setup = TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 500)
    values = {"learning_rate": 3e-4, "net_arch": (64, 64), "history_len": 8, KL_WEIGHT_PATH: 0.02}
    config = trial_config(setup, tmp_path / "spec.yaml", values, seed=3, out=tmp_path / "run")
    assert config.history_len == 8 and config.seed == 3 and config.timesteps == 500
    assert config.hyperparams == {
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [64, 64], "features_extractor_kwargs": {"kl_weight": 0.02}},
    }
    spec = config.resolved_method().policy(config, spaces.Box(-1, 1, (3,)), {})
    assert spec.kwargs["features_extractor_kwargs"]["kl_weight"] == 0.02
    assert spec.kwargs["net_arch"] == [64, 64]


def test_a_method_may_not_search_what_the_study_fixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PearlMethod, "tuning_space", lambda self, config: {"timesteps": {"choice": [1, 2]}})
    with pytest.raises(ConfigError, match=r"timesteps.*same budget"):
        search_space(TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 1))
