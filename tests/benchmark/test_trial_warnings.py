"""A grid's trial shows mtml-rl's warnings in one line named by the trial (its worker has no
command of its own to name), and the trial still finishes."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from mtml_rl.errors import MtmlWarning

trials = importlib.import_module("mtml_rl.benchmark.trials")


def test_a_trials_warning_is_one_line_named_by_the_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def train_and_evaluate(trial: object) -> bool:
        warnings.warn("finetune timesteps 256 fit in one rollout", MtmlWarning, stacklevel=2)
        return True

    monkeypatch.setattr(trials, "_train_and_evaluate", train_and_evaluate)
    trial = SimpleNamespace(
        name="CartPole-finetune-s0", config={"num_threads": 1}, run_dir=str(tmp_path / "run")
    )
    outcome = trials.run_trial(trial)
    assert outcome.status == trials.FINISHED and outcome.trained
    assert (
        capsys.readouterr().err
        == "CartPole-finetune-s0: warning: finetune timesteps 256 fit in one rollout\n"
    )
