"""Scores: normalization against random and reference returns, and rliable aggregates.

- Normalized score of a return ``R`` on a task: ``(R - R_random) / (R_reference - R_random)``,
  where ``R_random`` is the measured mean return of a uniform random agent on the same task
  and seeds, and ``R_reference`` is the oracle's measured mean return on the task when an
  oracle run is evaluated alongside, else the family's documented value
  (:mod:`mtml_rl.evaluation.references`). A gap ``R_reference - R_random`` below
  ``gap_floor * max(|R_random|, |R_reference|, 1)`` is raised to that floor (and flagged), so
  that a task where the reference is no better than random cannot blow the score up.
- Aggregates over runs (seeds) x tasks: IQM, mean, median and optimality gap with 95%
  stratified bootstrap confidence intervals, and the probability of improvement between
  methods, all from ``rliable`` (Agarwal et al., 2021).

rliable's bootstrap draws its resampling indices from NumPy's legacy global generator even
when a ``random_state`` is passed (``StratifiedBootstrap.update_indices`` calls
``np.random.choice``), so :func:`seeded_bootstrap` seeds that generator for the duration of
the call and restores its previous state afterwards: results are reproducible and nothing
outside is disturbed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from mtml_rl.evaluation.results import Interval

METRICS = ("iqm", "mean", "median", "optimality_gap")
"""The aggregate metrics, in the order :func:`aggregate_intervals` computes them."""
METRIC_TITLES = {"iqm": "IQM", "mean": "Mean", "median": "Median", "optimality_gap": "Optimality gap"}
DEFAULT_GAP_FLOOR = 0.01


def normalization_gap(
    random: float, reference: float, floor: float = DEFAULT_GAP_FLOOR
) -> tuple[float, bool]:
    """``reference - random``, raised to ``floor * max(|random|, |reference|, 1)`` if below it.

    :returns: the gap and whether it was floored
    """
    gap = reference - random
    minimum = floor * max(abs(random), abs(reference), 1.0)
    return (gap, False) if gap >= minimum else (minimum, True)


def normalize(ret: float, random: float, reference: float, floor: float = DEFAULT_GAP_FLOOR) -> float:
    """The normalized score ``(ret - random) / (reference - random)`` (gap floored)."""
    gap, _ = normalization_gap(random, reference, floor)
    return (ret - random) / gap


@contextmanager
def seeded_bootstrap(seed: int) -> Iterator[np.random.RandomState]:
    """A ``RandomState`` for rliable, with NumPy's legacy global generator seeded alike
    inside the block (rliable samples from it) and restored afterwards."""
    saved = np.random.get_state()  # noqa: NPY002 - restored below
    np.random.seed(seed)  # noqa: NPY002 - rliable resamples with np.random.choice; restored below
    try:
        with warnings.catch_warnings():
            # arch deprecates the random_state keyword rliable passes; absl logs at INFO
            warnings.simplefilter("ignore", FutureWarning)
            yield np.random.RandomState(seed)
    finally:
        np.random.set_state(saved)  # noqa: NPY002 - the state saved above


def _aggregate_vector(scores: np.ndarray) -> np.ndarray:
    from rliable import metrics

    return np.array(
        [
            metrics.aggregate_iqm(scores),
            metrics.aggregate_mean(scores),
            metrics.aggregate_median(scores),
            metrics.aggregate_optimality_gap(scores),
        ]
    )


def aggregate_intervals(
    scores: Mapping[str, np.ndarray], *, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> dict[str, dict[str, Interval]]:
    """IQM, mean, median and optimality gap with stratified bootstrap intervals (rliable).

    :param scores: ``{method: (runs, tasks) normalized scores}``
    :param reps: bootstrap replications
    :param seed: seed of the bootstrap
    :param confidence: the intervals' coverage
    :returns: ``{method: {metric: Interval}}``
    """
    from rliable import library as rly

    data = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    with seeded_bootstrap(seed) as state:
        points, cis = rly.get_interval_estimates(
            data, _aggregate_vector, reps=reps, confidence_interval_size=confidence, random_state=state
        )
    return {
        key: {
            name: Interval(float(points[key][i]), float(cis[key][0, i]), float(cis[key][1, i]))
            for i, name in enumerate(METRICS)
        }
        for key in data
    }


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """``P(X > Y)`` averaged over tasks: rliable's ``metrics.probability_of_improvement``, vectorized.

    For each task, the Mann-Whitney ``U / (n m)`` of the runs' scores (ties count 1/2), the
    quantity rliable computes with one ``scipy.stats.mannwhitneyu`` call per task; this form
    needs no call per task, which makes thousands of bootstrap replications affordable (the
    tests check that both agree).

    :param scores_x: ``(runs_x, tasks)`` scores of X
    :param scores_y: ``(runs_y, tasks)`` scores of Y
    """
    x = np.asarray(scores_x, dtype=np.float64)[:, None, :]
    y = np.asarray(scores_y, dtype=np.float64)[None, :, :]
    per_task = (x > y).mean(axis=(0, 1)) + 0.5 * (x == y).mean(axis=(0, 1))
    return float(per_task.mean())


def improvement_probabilities(
    scores: Mapping[str, np.ndarray],
    pairs: list[tuple[str, str]],
    *,
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[tuple[str, str], Interval]:
    """``P(X > Y)`` for each pair with stratified bootstrap intervals (rliable).

    :param scores: ``{method: (runs, tasks) normalized scores}`` (same tasks for all)
    :param pairs: ``(x, y)`` method pairs
    """
    from rliable import library as rly

    if not pairs:
        return {}
    data = {f"{x}\x00{y}": [np.asarray(scores[x]), np.asarray(scores[y])] for x, y in pairs}
    with seeded_bootstrap(seed) as state:
        points, cis = rly.get_interval_estimates(
            data,
            probability_of_improvement,
            reps=reps,
            confidence_interval_size=confidence,
            random_state=state,
        )
    out = {}
    for key in data:
        x, y = key.split("\x00")
        ci = np.asarray(cis[key]).reshape(2)
        out[(x, y)] = Interval(float(points[key]), float(ci[0]), float(ci[1]))
    return out


def performance_profiles(
    scores: Mapping[str, np.ndarray], taus: np.ndarray, *, reps: int = 2000, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (fraction of runs x tasks above each ``tau``) with intervals (rliable)."""
    from rliable import library as rly

    data = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    with seeded_bootstrap(seed):
        profiles, cis = rly.create_performance_profile(
            data, taus, custom_profile_func=score_distribution, reps=reps
        )
    return profiles, cis


def score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all (run, task) scores above each ``tau``: rliable's run-score
    distribution (``library.score_distributions``), vectorized over the thresholds."""
    return (np.asarray(scores)[..., None] > np.asarray(taus)).reshape(-1, len(taus)).mean(axis=0)


def profile_taus(scores: Mapping[str, np.ndarray], points: int = 101) -> np.ndarray:
    """Thresholds spanning ``[min(0, 1st percentile), max(1, 99th percentile)]`` of the scores."""
    values = np.concatenate([np.ravel(v) for v in scores.values()]) if scores else np.zeros(1)
    low = min(0.0, float(np.percentile(values, 1)))
    high = max(1.0, float(np.percentile(values, 99)))
    return np.linspace(low, high, points)


def mean_or_none(values: list[Any], cast: Callable[[Any], float] = float) -> float | None:
    """The mean of the non-``None`` values, or ``None`` if there are none."""
    kept = [cast(v) for v in values if v is not None]
    return float(np.mean(kept)) if kept else None
