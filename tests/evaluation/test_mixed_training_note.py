"""A report says when the runs it pools under one method are not seeds of one setting
(other algorithms, other budgets, other trial lengths, other hyperparameters, a seed twice):
their intervals treat them as seeds."""

from __future__ import annotations

from typing import Any

import pytest
from evaluation_helpers import results

from mtml_rl.evaluation.analysis import analyze, is_derived_note


def noted(**changes: Any) -> list[str]:
    """The notes of the two-run results with run1 changed by ``changes``."""
    built = results()
    for name, value in changes.items():
        setattr(built.runs[1], name, value)
    return [n for n in analyze(built).notes if "are not seeds of one setting" in n]


def test_seeds_of_one_training_are_not_noted() -> None:
    assert noted() == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"algo": "sac"}, "algo ppo (1 run), sac (1 run)"),
        ({"steps": 2048}, "steps 1024 (1 run), 2048 (1 run)"),
        ({"trial_episodes": 2}, "trial_episodes 1 (1 run), 2 (1 run)"),
        ({"seed": 0}, "seed 0 in 2 runs"),
        ({"algo": "sac", "seed": 0}, "algo ppo (1 run), sac (1 run); seed 0 in 2 runs"),
    ],
)
def test_runs_pooled_as_seeds_that_are_not_are_noted(changes: dict[str, Any], said: str) -> None:
    notes = noted(**changes)
    assert len(notes) == 1
    assert notes[0].startswith(f"mtml/CartPole-v0: dr's 2 runs are not seeds of one setting ({said}); ")
    assert notes[0].endswith("its rows aggregate them; compare one setting per report to read each")
    assert is_derived_note(notes[0])  # recomputed by every analysis, never carried over by compare


SETTINGS = {"learning_rate": "lin_0.001", "n_steps": 64, "policy_kwargs": {"net_arch": [64, 64]}}
"""A run's training record (schema 1.7), trimmed."""


def with_training(first: dict[str, Any] | None, second: dict[str, Any] | None) -> list[str]:
    built = results()
    built.runs[0].training, built.runs[1].training = first, second
    return [n for n in analyze(built).notes if "are not seeds of one setting" in n]


def test_runs_of_other_hyperparameters_are_noted_where_recorded() -> None:
    """Two runs of other learning rates under one method were pooled as seeds without a word:
    ``results.json`` did not record hyperparameters."""
    assert with_training(SETTINGS, dict(SETTINGS)) == []
    assert with_training(SETTINGS, None) == []  # a run evaluated before 1.7: nothing to compare
    notes = with_training(SETTINGS, {**SETTINGS, "learning_rate": 0.0003})
    assert notes == [
        "mtml/CartPole-v0: dr's 2 runs are not seeds of one setting (learning_rate 0.0003 (1 run), "
        "lin_0.001 (1 run)); its rows aggregate them; compare one setting per report to read each"
    ]
    many = {"learning_rate": 1, "n_steps": 32, "policy_kwargs": {"net_arch": [8]}, "gamma": 0.9}
    said = with_training(SETTINGS, many)[0]
    assert "gamma 0.9 (1 run), unset (1 run); learning_rate 1 (1 run), lin_0.001 (1 run); n_steps" in said
    assert "; 1 more training setting(s)); " in said and "policy_kwargs" not in said
