"""The benchmark's markdown tables: the dr-to-oracle gap and the share of it each method closes."""

from __future__ import annotations

import pytest

from mtml_rl.benchmark.evaluation import ScoreRow
from mtml_rl.benchmark.tables import gap_markdown, gap_share


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
