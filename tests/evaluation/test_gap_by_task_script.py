"""``scripts/gap_by_task.py``: each task's mean return per method, pooled over runs, and the
share of the ``dr``-to-oracle gap, ordered by a parameter."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from script_loading import load_script

from mtml_rl.evaluation.results import EpisodeRow, Protocol, Results, RunRecord, TaskRecord


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


def _evaluation(folder: Path, runs: dict[str, tuple[str, float]]) -> Path:
    """An evaluation of ``runs`` (``{directory: (method, return)}``) on two tasks, written;
    each run's return on task ``b`` is 10 lower than on ``a``."""
    split, spec = "test-extrapolation", "mtml/CartPole-v0"
    records = [
        RunRecord(f"run{i}", path, m, m, "ppo", 0, spec, "h", {split: "h"}, False, 1, 1)
        for i, (path, (m, _)) in enumerate(runs.items())
    ]
    tasks = [TaskRecord(spec, split, t, {"v": v}, 0.0) for t, v in (("a", 3.5), ("b", 3.1))]
    episodes = [
        EpisodeRow(f"run{i}", spec, split, t, 0, 0, 0, ret - 10 * (t == "b"), 10, None)
        for i, (_, ret) in enumerate(runs.values())
        for t in ("a", "b")
    ]
    folder.mkdir()
    results = Results(Protocol(1, 0, True, [split]), records, tasks, episodes)
    (folder / "results.json").write_text(json.dumps(results.to_json()))
    return folder


def test_a_run_in_two_inputs_is_counted_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ``adapt`` seed 0 of a grid's evaluation is also in a comparison with seed 1: pooled
    once each, not seed 0 twice."""
    script = load_script("gap_by_task")
    grid = _evaluation(
        tmp_path / "grid", {"/dr": ("dr", 0.0), "/oracle": ("oracle", 100.0), "/s0": ("adapt", 20.0)}
    )
    both = _evaluation(tmp_path / "both", {"/s0": ("adapt", 20.0), "/s1": ("adapt", 60.0)})
    script.main([str(grid), str(both), "--param", "v"])
    assert capsys.readouterr().out.splitlines()[2:] == [
        "| 3.10 | -10.0 | 90.0 | 30.0 | 40% |",
        "| 3.50 | 0.0 | 100.0 | 40.0 | 40% |",
    ]
