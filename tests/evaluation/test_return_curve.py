"""The adaptation curve's mean cumulative reward by step is summed one episode at a time (the
memory of one episode's curve) and gives the numbers of the mean over a matrix of every
episode's curve, which a long time limit times many episodes made too large to hold."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from mtml_rl.evaluation.collect import _return_curve


def matrix_mean(played: list[Any], horizon: int) -> np.ndarray:
    """The earlier arithmetic: one row per episode, its final return held after it ended."""
    rows = np.zeros((len(played), horizon))
    for row, p in enumerate(played):
        sums = np.cumsum(p.rewards)
        rows[row, : len(sums)] = sums
        rows[row, len(sums) :] = sums[-1] if len(sums) else 0.0
    return cast("np.ndarray", rows.mean(axis=0))


def test_the_curve_is_the_mean_of_every_episodes_curve_to_the_bit() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        horizon, episodes = int(rng.integers(2, 300)), int(rng.integers(1, 40))
        played = [
            SimpleNamespace(
                rewards=rng.normal(size=int(rng.integers(0, horizon + 1))) * 10.0 ** rng.integers(-3, 4)
            )
            for _ in range(episodes)
        ]
        assert np.array_equal(_return_curve(played, horizon), matrix_mean(played, horizon))  # type: ignore[arg-type]
