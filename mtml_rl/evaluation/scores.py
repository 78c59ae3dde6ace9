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
  methods, all ``rliable``'s (Agarwal et al., 2021); the aggregate intervals are computed here
  for all resamples at once, to the same numbers (:func:`aggregate_intervals`).

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


def aggregate_metrics(samples: np.ndarray) -> np.ndarray:
    """IQM, mean, median and optimality gap (``gamma = 1``) of each ``(runs, tasks)`` sample of
    a ``(reps, runs, tasks)`` stack: ``(reps, 4)``, each row bit-identical to rliable's
    ``metrics.aggregate_*`` of that sample (same partitions, same reductions in the same order)."""
    reps, runs, tasks = samples.shape
    flat = samples.reshape(reps, runs * tasks)
    low = int(0.25 * flat.shape[1])
    high = flat.shape[1] - low
    iqm = np.mean(np.partition(flat, (low, high - 1), axis=1)[:, low:high], axis=1)
    task_means = np.mean(samples, axis=1)
    gap = 1 - np.mean(np.minimum(flat, 1), axis=1)
    return np.stack([iqm, np.mean(task_means, axis=1), np.median(task_means, axis=1), gap], axis=1)


def stratified_samples(scores: np.ndarray, reps: int) -> np.ndarray:
    """``reps`` stratified bootstrap resamples of ``(runs, tasks)`` scores: each task's runs
    resampled with replacement, drawn from NumPy's legacy global generator exactly as rliable's
    ``StratifiedBootstrap`` draws them, one ``np.random.choice(runs, (runs, tasks))`` per
    resample. ``RandomState.choice`` with replacement is ``randint(0, runs, shape)``, which draws
    element by element, so one call for all resamples takes the same numbers from the stream
    (NumPy keeps the legacy generator's streams fixed across versions; the tests compare the
    results with rliable's)."""
    runs, tasks = scores.shape
    if not reps:
        return np.zeros((0, runs, tasks))
    index = np.random.randint(0, runs, (reps, runs, tasks))  # noqa: NPY002 - rliable's generator
    return scores[index, np.arange(tasks)]


def percentile_interval(estimates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap interval of every column of ``(reps, k)`` estimates, computed as
    ``arch``'s ``conf_int(method="percentile")`` computes it."""
    alpha = (1.0 - confidence) / 2
    percentiles = [100 * alpha, 100 * (1.0 - alpha)]
    bounds = [np.percentile(estimates[:, i], percentiles) for i in range(estimates.shape[1])]
    return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def aggregate_intervals(
    scores: Mapping[str, np.ndarray], *, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> dict[str, dict[str, Interval]]:
    """IQM, mean, median and optimality gap with stratified bootstrap intervals.

    The numbers are rliable's ``library.get_interval_estimates`` with these four metrics
    (percentile intervals over resamples of each task's runs), to the last bit: the same
    resamples from the same generator, each reduced the same way; only the metrics are computed
    for all resamples at once instead of one call per resample (the tests compare both).

    :param scores: ``{method: (runs, tasks) normalized scores}``
    :param reps: bootstrap replications
    :param seed: seed of the bootstrap
    :param confidence: the intervals' coverage
    :returns: ``{method: {metric: Interval}}``
    """
    data = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    out: dict[str, dict[str, Interval]] = {}
    with seeded_bootstrap(seed):
        for key, values in data.items():
            points = aggregate_metrics(values[None])[0]
            low, high = percentile_interval(aggregate_metrics(stratified_samples(values, reps)), confidence)
            out[key] = {
                name: Interval(float(points[i]), float(low[i]), float(high[i]))
                for i, name in enumerate(METRICS)
            }
    return out


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
    """``P(X > Y)`` for each pair with stratified bootstrap intervals.

    The numbers are rliable's (``library.get_interval_estimates`` over
    ``metrics.probability_of_improvement``, each method's runs resampled independently per
    task), to the last bit, with every resample's probability computed at once.

    :param scores: ``{method: (runs, tasks) normalized scores}`` (same tasks for all)
    :param pairs: ``(x, y)`` method pairs
    """
    out = {}
    with seeded_bootstrap(seed):
        for x, y in pairs:
            a, b = np.asarray(scores[x], dtype=np.float64), np.asarray(scores[y], dtype=np.float64)
            samples_a, samples_b = _independent_samples(a, b, reps)
            low, high = percentile_interval(_improvement(samples_a, samples_b)[:, None], confidence)
            out[(x, y)] = Interval(probability_of_improvement(a, b), float(low[0]), float(high[0]))
    return out


def _independent_samples(a: np.ndarray, b: np.ndarray, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """``reps`` resamples of each task's runs of ``a`` and of ``b``, drawn as rliable's
    ``StratifiedIndependentBootstrap`` draws them (``a``'s indices, then ``b``'s, per resample):
    one ``randint`` call whose upper bound is ``a``'s run count for the first ``a.size``
    entries of each row and ``b``'s for the rest takes the same numbers from the stream (see
    :func:`stratified_samples`)."""
    if not reps:
        return np.zeros((0, *a.shape)), np.zeros((0, *b.shape))
    high = np.concatenate([np.full(a.size, a.shape[0]), np.full(b.size, b.shape[0])])
    index = np.random.randint(0, high, (reps, a.size + b.size))  # noqa: NPY002 - rliable's generator
    index_a = index[:, : a.size].reshape(reps, *a.shape)
    index_b = index[:, a.size :].reshape(reps, *b.shape)
    return a[index_a, np.arange(a.shape[1])], b[index_b, np.arange(b.shape[1])]


def _improvement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`probability_of_improvement` of every resample pair of ``(reps, runs, tasks)`` stacks."""
    x, y = a[:, :, None, :], b[:, None, :, :]
    per_task = (x > y).mean(axis=(1, 2)) + 0.5 * (x == y).mean(axis=(1, 2))
    return per_task.mean(axis=1)


def performance_profiles(
    scores: Mapping[str, np.ndarray], taus: np.ndarray, *, reps: int = 2000, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (fraction of runs x tasks above each ``tau``) with intervals.

    The numbers are rliable's ``library.create_performance_profile`` with
    :func:`score_distribution` (95% percentile intervals over resamples of each task's runs),
    to the last bit, with every resample's profile computed at once.

    :returns: ``({method: (taus,) profile}, {method: (2, taus) lower and upper bounds})``
    """
    data = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    taus = np.asarray(taus)
    profiles, cis = {}, {}
    with seeded_bootstrap(seed):
        for key, values in data.items():
            profiles[key] = score_distribution(values, taus)
            samples = stratified_samples(values, reps)
            above = samples.reshape(reps, -1)[:, :, None] > taus
            low, high = percentile_interval(above.mean(axis=1), 0.95)
            cis[key] = np.stack([low, high])
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
