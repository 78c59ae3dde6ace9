"""Scores on synthetic tables with known answers: normalization, IQM, intervals, improvement."""

from __future__ import annotations

import numpy as np
import pytest

from mtml_rl.evaluation import scores
from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.results import EpisodeRow, Protocol, Results, RunRecord, TaskRecord
from mtml_rl.methods.oracle import ORACLE

ORACLE_LABEL = ORACLE.report_label
"""The oracle's name in results."""


def test_normalize_maps_random_to_zero_and_reference_to_one() -> None:
    assert scores.normalize(10.0, random=10.0, reference=110.0) == 0.0
    assert scores.normalize(110.0, random=10.0, reference=110.0) == 1.0
    assert scores.normalize(60.0, random=10.0, reference=110.0) == pytest.approx(0.5)
    assert scores.normalize(-90.0, random=10.0, reference=110.0) == pytest.approx(-1.0)
    # negative returns (costs): random -1200, reference -150
    assert scores.normalize(-675.0, random=-1200.0, reference=-150.0) == pytest.approx(0.5)


def test_a_reference_no_better_than_random_is_floored_and_flagged() -> None:
    gap, floored = scores.normalization_gap(random=20.0, reference=15.0, floor=0.01)
    assert floored and gap == pytest.approx(0.2)  # 0.01 * max(20, 15, 1)
    assert scores.normalize(21.0, random=20.0, reference=20.0, floor=0.01) == pytest.approx(1.0 / 0.2)
    assert scores.normalization_gap(random=0.0, reference=100.0) == (100.0, False)


def test_iqm_mean_median_and_gap_of_a_known_table() -> None:
    table = np.arange(8.0).reshape(2, 4) / 4.0  # 0, .25, ..., 1.75
    result = scores.aggregate_intervals({"m": table}, reps=200, seed=0)["m"]
    assert result["iqm"].point == pytest.approx(np.mean([0.5, 0.75, 1.0, 1.25]))  # middle half
    assert result["mean"].point == pytest.approx(0.875)
    assert result["median"].point == pytest.approx(np.median(table.mean(axis=0)))
    assert result["optimality_gap"].point == pytest.approx(1.0 - np.minimum(table, 1.0).mean())


def test_intervals_of_a_known_table() -> None:
    # Two runs, 100 tasks: run 0 scores 0 everywhere, run 1 scores 1. Resampling the runs of
    # every task makes the mean a Binomial(100, 1/2) / 100: its 95% interval is about 0.5 +- 0.098.
    table = np.vstack([np.zeros(100), np.ones(100)])
    result = scores.aggregate_intervals({"m": table}, reps=2000, seed=0)["m"]["mean"]
    assert result.point == pytest.approx(0.5)
    assert 0.38 <= result.low <= 0.44 and 0.56 <= result.high <= 0.62
    constant = scores.aggregate_intervals({"c": np.full((3, 5), 0.7)}, reps=100, seed=0)["c"]
    for name in scores.METRICS:
        interval = constant[name]
        assert interval.low == pytest.approx(interval.point) and interval.high == pytest.approx(
            interval.point
        )


def test_intervals_are_reproducible_and_leave_the_global_generator_alone() -> None:
    table = np.vstack([np.zeros(40), np.ones(40), np.full(40, 0.5)])
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - checking nothing changes it
    first = scores.aggregate_intervals({"m": table}, reps=300, seed=3)
    second = scores.aggregate_intervals({"m": table}, reps=300, seed=3)
    other = scores.aggregate_intervals({"m": table}, reps=300, seed=4)
    assert first == second
    assert first != other
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


RLIABLE = pytest.mark.xdist_group("rliable")
"""The tests that compare against rliable itself: they run on one worker of a parallel run, as
importing rliable (scipy, pandas, statsmodels) costs seconds in every process that does it.
They run in make test (marked slow); the known-answer tests above stay in make test-fast."""


def _rliable_metrics(table: np.ndarray) -> np.ndarray:
    from rliable import metrics

    return np.array(
        [
            metrics.aggregate_iqm(table),
            metrics.aggregate_mean(table),
            metrics.aggregate_median(table),
            metrics.aggregate_optimality_gap(table),
        ]
    )


@pytest.mark.slow
@RLIABLE
@pytest.mark.parametrize("shape", [(1, 5), (2, 16), (3, 16), (4, 12), (5, 7)])
def test_intervals_are_rliables_to_the_last_bit(shape: tuple[int, int]) -> None:
    from rliable import library as rly

    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    table = np.round(rng.normal(0.6, 0.5, size=shape), 2)  # rounded: ties, as in real scores
    ours = scores.aggregate_intervals({"m": table, "n": table[::-1] * 0.5}, reps=300, seed=7)
    with scores.seeded_bootstrap(7) as state:
        points, cis = rly.get_interval_estimates(
            {"m": table, "n": table[::-1] * 0.5}, _rliable_metrics, reps=300, random_state=state
        )
    for key in ("m", "n"):
        for i, name in enumerate(scores.METRICS):
            got = ours[key][name]
            assert (got.point, got.low, got.high) == (points[key][i], cis[key][0, i], cis[key][1, i])


@pytest.mark.slow
@RLIABLE
def test_probability_of_improvement_equals_rliables_metric() -> None:
    from rliable import library as rly
    from rliable import metrics

    rng = np.random.default_rng(1)
    for runs_x, runs_y in [(1, 1), (3, 2), (5, 5)]:
        x = rng.integers(0, 4, size=(runs_x, 10)).astype(float)  # ties included
        y = rng.integers(0, 4, size=(runs_y, 10)).astype(float)
        assert scores.probability_of_improvement(x, y) == pytest.approx(
            metrics.probability_of_improvement(x, y)
        )
    taus = np.linspace(-1, 4, 21)
    assert np.allclose(scores.score_distribution(x, taus), rly.score_distributions(x, taus))


@pytest.mark.slow
@RLIABLE
@pytest.mark.parametrize(("runs_x", "runs_y"), [(1, 1), (3, 2), (2, 5)])
def test_improvement_intervals_are_rliables_to_the_last_bit(runs_x: int, runs_y: int) -> None:
    from rliable import library as rly

    rng = np.random.default_rng(runs_x * 10 + runs_y)
    x = np.round(rng.normal(0.5, 0.4, size=(runs_x, 16)), 1)
    y = np.round(rng.normal(0.4, 0.4, size=(runs_y, 16)), 1)
    ours = scores.improvement_probabilities({"x": x, "y": y}, [("x", "y"), ("y", "x")], reps=300, seed=5)
    with scores.seeded_bootstrap(5) as state:  # what improvement_probabilities called before
        points, cis = rly.get_interval_estimates(
            {"xy": [x, y], "yx": [y, x]}, scores.probability_of_improvement, reps=300, random_state=state
        )
    for pair, key in ((("x", "y"), "xy"), (("y", "x"), "yx")):
        got = ours[pair]
        assert (got.point, got.low, got.high) == (points[key], cis[key][0, 0], cis[key][1, 0])


def test_probability_of_improvement_with_known_answers() -> None:
    better, worse = np.ones((3, 8)), np.zeros((3, 8))
    result = scores.improvement_probabilities(
        {"a": better, "b": worse}, [("a", "b"), ("b", "a")], reps=100, seed=0
    )
    assert (result[("a", "b")].point, result[("a", "b")].low, result[("a", "b")].high) == (1.0, 1.0, 1.0)
    assert result[("b", "a")].point == 0.0
    same = scores.improvement_probabilities({"a": better, "c": better.copy()}, [("a", "c")], reps=50, seed=0)
    assert same[("a", "c")].point == 0.5


def _synthetic(oracle: bool) -> Results:
    """Two tasks; dr returns 30 and 70 on both episodes; random 10; family reference 110."""
    runs = [RunRecord("run0", "/r0", "dr", "dr", "ppo", 0, "S", "h", {}, False, 1, 100)]
    returns = {"run0": (30.0, 70.0)}
    if oracle:
        runs.append(RunRecord("run1", "/r1", ORACLE_LABEL, "oracle", "ppo", 0, "S", "h", {}, True, 1, 100))
        returns["run1"] = (50.0, 90.0)
    tasks = [
        TaskRecord("S", "test", f"t{i}", {"p": float(i)}, 10.0, family_reference=110.0) for i in range(2)
    ]
    episodes = [
        EpisodeRow(run, "S", "test", f"t{i}", 0, k, k, value, 100, None)
        for run, values in returns.items()
        for i, value in enumerate(values)
        for k in range(2)
    ]
    return Results(Protocol(2, 0, True, ["test"], bootstrap_reps=100), runs, tasks, episodes)


def test_analyze_uses_the_family_reference_without_an_oracle() -> None:
    results = analyze(_synthetic(oracle=False))
    assert [t.reference_source for t in results.tasks] == ["family", "family"]
    assert [e.normalized for e in results.episodes] == pytest.approx([0.2, 0.2, 0.6, 0.6])
    (aggregate,) = results.aggregates
    assert aggregate.label == "dr" and aggregate.runs == 1 and aggregate.tasks == 2
    assert aggregate.mean.point == pytest.approx(0.4)
    assert aggregate.mean_return == pytest.approx(50.0)
    assert results.improvements == []


def test_analyze_prefers_the_oracle_measured_alongside() -> None:
    results = analyze(_synthetic(oracle=True))
    assert [(t.reference_source, t.reference_return) for t in results.tasks] == [
        ("oracle", 50.0),
        ("oracle", 90.0),
    ]
    assert [t.family_reference for t in results.tasks] == [110.0, 110.0]  # both recorded
    by_label = {a.label: a for a in results.aggregates}
    assert by_label["dr"].mean.point == pytest.approx(np.mean([20 / 40, 60 / 80]))
    assert by_label[ORACLE_LABEL].mean.point == pytest.approx(1.0)
    (improvement,) = results.improvements
    assert (improvement.x, improvement.y, improvement.probability.point) == ("dr", ORACLE_LABEL, 0.0)


@pytest.mark.slow
@RLIABLE
@pytest.mark.parametrize("shape", [(1, 5), (3, 16)])
def test_performance_profiles_are_rliables_to_the_last_bit(shape: tuple[int, int]) -> None:
    from rliable import library as rly

    rng = np.random.default_rng(shape[0] + shape[1])
    table = {
        "m": np.round(rng.normal(0.6, 0.5, size=shape), 1),
        "n": np.round(rng.normal(0.3, 0.5, size=shape), 1),
    }
    taus = scores.profile_taus(table, points=21)
    profiles, cis = scores.performance_profiles(table, taus, reps=300, seed=4)
    with scores.seeded_bootstrap(4):
        expected, expected_cis = rly.create_performance_profile(
            table, taus, custom_profile_func=scores.score_distribution, reps=300
        )
    for key in table:
        assert np.array_equal(profiles[key], expected[key])
        assert np.array_equal(cis[key], expected_cis[key])
