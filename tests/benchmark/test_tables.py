"""The benchmark's markdown tables: the dr-to-oracle gap, the share of it each method closes, and
the success rates."""

from __future__ import annotations

import pytest

from mtml_rl.benchmark.evaluation import ScoreRow
from mtml_rl.benchmark.tables import gap_markdown, gap_share, success_markdown
from mtml_rl.evaluation.results import Interval, SuccessAggregate


def row(method: str, split: str, mean_return: float) -> ScoreRow:
    """A cell of one spec with a given mean return."""
    return ScoreRow(spec="Cheetah", method=method, split=split, runs=3, tasks=10, mean_return=mean_return)


def test_gap_share_is_zero_at_dr_and_one_at_the_oracle() -> None:
    dr, oracle = row("dr", "s", -100.0), row("oracle", "s", -20.0)
    assert gap_share(row("adapt", "s", -40.0), dr, oracle) == pytest.approx(0.75)
    assert gap_share(dr, dr, oracle) == 0.0 and gap_share(oracle, dr, oracle) == 1.0
    assert gap_share(row("adapt", "s", -120.0), dr, oracle) == pytest.approx(-0.25)
    assert gap_share(row("adapt", "s", -40.0), dr, row("oracle", "s", -100.0)) is None, "no gap"


def test_gap_table_has_a_share_column_per_other_method() -> None:
    rows = [
        row("adapt", "test-interpolation", 80.0),
        row("rl2", "test-interpolation", -0.2),
        row("history", "test-interpolation", -10.0),
        row("dr", "test-interpolation", 0.0),
        row("oracle", "test-interpolation", 100.0),
        row("adapt", "test-extrapolation", 5.0),
        row("dr", "test-extrapolation", 10.0),
        row("oracle", "test-extrapolation", 10.0),
    ]
    lines = gap_markdown(rows).splitlines()
    assert (
        lines[0]
        == "| spec | split | dr | oracle | gap (oracle − dr) | adapt closes | rl2 closes | history closes |"
    )
    assert lines[2] == "| Cheetah | interpolation | 0.0 | 100.0 | +100.0 | 80% | 0% | -10% |", (
        "rounded, never -0%"
    )
    assert lines[3] == "| Cheetah | extrapolation | 10.0 | 10.0 | +0.0 | – | – | – |", (
        "no gap, no missing cell"
    )
    assert gap_markdown([r for r in rows if r.method != "oracle"]) == ""


def success(label: str, split: str, group: str, mean: float) -> SuccessAggregate:
    """A success aggregate of MT10 with a given mean success rate (interval ±0.1)."""
    rate = Interval(mean, mean - 0.1, mean + 0.1)
    return SuccessAggregate("MT10", split, label, group, runs=3, tasks=10, iqm=rate, mean=rate)


def test_success_table_has_every_split_and_a_per_environment_table() -> None:
    aggregates = [
        success("dr", "train", "all", 0.2),
        success("dr", "train", "env=reach-v3", 0.4),
        success("dr", "train", "env=push-v3", 0.0),
        success("onehot", "train", "all", 0.5),
        success("onehot", "train", "env=reach-v3", 0.9),
        success("onehot", "train", "env=push-v3", 0.1),
    ]
    lines = success_markdown(aggregates).splitlines()
    assert lines[:4] == [
        "| spec | method | train |",
        "|---|---|---|",
        "| MT10 | dr | 0.200 [0.100, 0.300] |",
        "| MT10 | onehot | 0.500 [0.400, 0.600] |",
    ]
    assert lines[5] == "MT10, train: mean success rate per env [95% interval]"
    assert lines[7] == "| env | dr | onehot |"
    assert lines[9] == "| reach-v3 | 0.400 [0.300, 0.500] | 0.900 [0.800, 1.000] |"
    assert lines[10] == "| push-v3 | 0.000 [-0.100, 0.100] | 0.100 [0.000, 0.200] |"
    assert lines[11] == "| overall | 0.200 [0.100, 0.300] | 0.500 [0.400, 0.600] |"


def test_success_table_is_empty_without_success_and_has_no_group_table_without_groups() -> None:
    assert success_markdown([]) == ""
    lines = success_markdown([success("dr", "test-interpolation", "all", 0.3)]).splitlines()
    assert lines == [
        "| spec | method | interpolation |",
        "|---|---|---|",
        "| MT10 | dr | 0.300 [0.200, 0.400] |",
    ]
