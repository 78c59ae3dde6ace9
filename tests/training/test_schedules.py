"""``lin_<x>`` schedules: linear from ``x`` to 0, and never below 0.

SB3's ``progress_remaining`` turns negative for the update after a rollout that overshoots
the budget; the schedule must then give 0, not a negative learning rate (a step up the loss)
and a negative clip range.
"""

from __future__ import annotations

import csv
from pathlib import Path

from training_helpers import small_config

from mtml_rl.training import train
from mtml_rl.training.hyperparams import linear_schedule


def test_a_linear_schedule_ends_at_zero_and_stays_there() -> None:
    schedule = linear_schedule(0.001)
    assert schedule(1.0) == 0.001
    assert schedule(0.3) == 0.3 * 0.001  # the same floating-point product as before the clamp
    assert schedule(0.0) == 0.0
    assert schedule(-0.024) == 0.0
    assert schedule(-3.1) == 0.0


def test_the_update_after_an_overshooting_rollout_does_not_climb_the_loss(tmp_path: Path) -> None:
    """1,000 steps in rollouts of 8 x 64 = 512: the second rollout ends at 1,024, past the
    budget, and its update sees ``progress_remaining`` -0.024."""
    hyperparams = {"n_steps": 64, "batch_size": 256, "learning_rate": "lin_0.001", "clip_range": "lin_0.2"}
    run = train(small_config(tmp_path / "run", timesteps=1000, hyperparams=hyperparams), progress=False)
    assert run.model.num_timesteps == 1024
    with open(run.path / "logs" / "progress.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("train/learning_rate")]
    # the first update at progress 1 - 512/1000 = 0.488; the second at -0.024: 0, not -2.4e-5
    assert [float(r["train/learning_rate"]) for r in rows] == [0.000488, 0.0]
    assert [float(r["train/clip_range"]) for r in rows] == [0.0976, 0.0]
