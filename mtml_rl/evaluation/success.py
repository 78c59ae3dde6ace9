"""Success rates: rliable aggregates of per-task success rates, overall and per group of tasks.

Where a family defines success (every Meta-World environment does; so do PointNav, AntGoal,
the classic-control goals), each run's score on a task is the fraction of its episodes that
succeeded. :func:`success_aggregates` aggregates those over runs x tasks with the same
rliable machinery as the normalized scores (IQM and mean with 95% stratified bootstrap
intervals), for every task of a split and, when the split's tasks differ in a categorical
parameter (Meta-World's ``env``), for each of its values: the per-environment tables of
MT10 and ML10.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mtml_rl.evaluation import scores
from mtml_rl.evaluation.labels import label_rank
from mtml_rl.evaluation.results import Results, SuccessAggregate, TaskRecord

ALL = "all"
"""The group of every task of a split."""

Cells = dict[str, dict[str, float | None]]
"""``{run id: {task id: success rate}}``."""


def task_group(task: TaskRecord, names: list[str]) -> str:
    """A task's group: its values of the categorical parameters ``names`` (``env=reach-v3``).

    :param task: the task
    :param names: the categorical parameters that differ within its split
    """
    return ", ".join(f"{name}={task.params[name]}" for name in names)


def varying_categorical(tasks: list[TaskRecord]) -> list[str]:
    """The categorical parameters (string values) that take more than one value in ``tasks``."""
    if not tasks:
        return []
    names = [k for k, v in tasks[0].params.items() if isinstance(v, str)]
    return [n for n in names if len({t.params.get(n) for t in tasks}) > 1]


def success_aggregates(results: Results) -> list[SuccessAggregate]:
    """Success-rate aggregates of every (spec, split) whose tasks all define success, per method
    over every task and per group of tasks."""
    protocol = results.protocol
    out: list[SuccessAggregate] = []
    for (spec, split), tasks in _tasks_by_split(results).items():
        cells = _cells(results, spec, split)
        if not cells or any(v is None for run in cells.values() for v in run.values()):
            continue
        names = varying_categorical(tasks)
        groups: dict[str, list[TaskRecord]] = {ALL: tasks}
        if names:
            for task in tasks:
                groups.setdefault(task_group(task, names), []).append(task)
        for group, members in groups.items():
            matrices = _matrices(results, cells, [t.task_id for t in members])
            intervals = scores.aggregate_intervals(
                matrices, reps=protocol.bootstrap_reps, seed=protocol.seed, confidence=protocol.confidence
            )
            for label, matrix in matrices.items():
                iqm, mean = intervals[label]["iqm"], intervals[label]["mean"]
                out.append(
                    SuccessAggregate(spec, split, label, group, matrix.shape[0], matrix.shape[1], iqm, mean)
                )
    return out


def _tasks_by_split(results: Results) -> dict[tuple[str, str], list[TaskRecord]]:
    grouped: dict[tuple[str, str], list[TaskRecord]] = defaultdict(list)
    for t in results.tasks:
        grouped[(t.spec, t.split)].append(t)
    return grouped


def _cells(results: Results, spec: str, split: str) -> Cells:
    cells: Cells = defaultdict(dict)
    for s in results.task_scores:
        if (s.spec, s.split) == (spec, split):
            cells[s.run][s.task_id] = s.success_rate
    return cells


def _matrices(results: Results, cells: Cells, task_ids: list[str]) -> dict[str, np.ndarray]:
    """``{label: (runs, tasks) success rates}`` (runs in seed order) of runs that played every task."""
    runs = {r.id: r for r in results.runs}
    rows: dict[str, list[list[float]]] = defaultdict(list)
    for run_id in sorted(cells, key=lambda r: (runs[r].seed, r)):
        row = [cells[run_id].get(t) for t in task_ids]
        if all(v is not None for v in row):
            rows[runs[run_id].label].append([float(v) for v in row if v is not None])
    return {k: np.array(v) for k, v in sorted(rows.items(), key=lambda kv: label_rank(kv[0]))}
