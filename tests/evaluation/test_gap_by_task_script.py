"""``scripts/gap_by_task.py``: each task's mean return per method, pooled over runs, and the
share of the ``dr``-to-oracle gap, ordered by a parameter."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from script_loading import load_script


def _results(method: str, returns: dict[str, list[float]], run: str) -> Any:
    """A stand-in for one evaluation's :class:`Results`: one run, the given episodes."""
    speeds = {"a": 3.5, "b": 3.1}
    return SimpleNamespace(
        runs=[SimpleNamespace(id=run, method=method)],
        tasks=[
            SimpleNamespace(task_id=t, split="test-extrapolation", params={"v": speeds[t]}) for t in speeds
        ],
        episodes=[
            SimpleNamespace(split="test-extrapolation", task_id=t, run=run, ret=r)
            for t, rets in returns.items()
            for r in rets
        ]
        + [SimpleNamespace(split="train", task_id="a", run=run, ret=1e9)],
    )


def test_rows_pool_seeds_and_give_each_tasks_share_in_parameter_order() -> None:
    script = load_script("gap_by_task")
    parts = [
        _results("dr", {"a": [-300.0], "b": [-200.0]}, "run0"),
        _results("oracle", {"a": [-100.0], "b": [-100.0]}, "run1"),
        _results("adapt", {"a": [-200.0, -100.0], "b": [-100.0]}, "run2"),
        _results("adapt", {"a": [-150.0], "b": [-200.0]}, "run3"),  # a second seed, pooled
    ]
    rows = script.table(parts, "test-extrapolation", "v", "adapt")
    assert rows[2:] == [
        "| 3.10 | -200.0 | -100.0 | -150.0 | 50% |",
        "| 3.50 | -300.0 | -100.0 | -150.0 | 75% |",
    ]


def test_a_missing_reference_is_named() -> None:
    script = load_script("gap_by_task")
    with pytest.raises(SystemExit, match=r"no episodes of dr on test-extrapolation"):
        script.table(
            [_results("oracle", {"a": [0.0]}, "r"), _results("adapt", {"a": [0.0]}, "s")],
            "test-extrapolation",
            "v",
            "adapt",
        )
