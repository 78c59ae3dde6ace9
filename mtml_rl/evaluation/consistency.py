"""Whether a ``results.json``'s records agree with each other.

The schema checks each record on its own; what a hand edit, a truncated copy or a merge by
hand breaks lies across them: an episode of a run or task the document does not list, an
episode twice, a run's split with episodes missing. :func:`load_results` refuses such a
document rather than score what is left of it.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from mtml_rl.evaluation.results import EpisodeRow, Results, RunRecord

Item = TypeVar("Item", bound=Hashable)


def consistency_problem(results: Results) -> str | None:
    """What keeps the records of ``results`` from agreeing (``None``: they agree).

    Each run id, each run deployed one way (its folder, method and deployment settings) and
    each task (spec, split, id) is listed once; every episode is of a listed
    run, of a task of that run's spec listed in its split, and is numbered within its task as
    its trial and episode say; and a run's episodes of a split are whole: ``episodes`` of the
    protocol for every task of the split, each once. Adaptation curves and grids name listed
    runs.
    """
    runs = {run.id: run for run in results.runs}
    twice = _first_repeated(run.id for run in results.runs)
    if twice is not None:
        return f"run id {twice!r} is listed twice in runs"
    deployed = _first_repeated(
        (run.path, run.method, json.dumps(run.deployment, sort_keys=True)) for run in results.runs
    )
    if deployed is not None:
        return f"run {deployed[0]} deployed as {deployed[1]} is listed twice in runs (under two ids)"
    task_key = _first_repeated((t.spec, t.split, t.task_id) for t in results.tasks)
    if task_key is not None:
        return f"task {task_key[2]} of {task_key[0]} ({task_key[1]}) is listed twice in tasks"
    tasks: dict[tuple[str, str], set[str]] = {}
    for task in results.tasks:
        tasks.setdefault((task.spec, task.split), set()).add(task.task_id)
    played: dict[tuple[str, str, str], set[tuple[str, int]]] = {}
    for n, episode in enumerate(results.episodes):
        problem = _episode_problem(episode, runs.get(episode.run), tasks, results.protocol.episodes)
        if problem is not None:
            return f"episodes/{n} {problem}"
        numbered = played.setdefault((episode.run, episode.spec, episode.split), set())
        if (episode.task_id, episode.index) in numbered:
            return f"episodes/{n} repeats episode {episode.index} of run {episode.run} on {episode.task_id}"
        numbered.add((episode.task_id, episode.index))
    for (run_id, spec, split), numbered in played.items():
        expected = len(tasks[(spec, split)]) * results.protocol.episodes
        if len(numbered) != expected:
            return (
                f"run {run_id} has {len(numbered)} episodes of {split}, not {expected} "
                f"({results.protocol.episodes} of each of its {len(tasks[(spec, split)])} tasks)"
            )
    return _unlisted_run(results, runs)


def _episode_problem(
    episode: EpisodeRow, run: RunRecord | None, tasks: dict[tuple[str, str], set[str]], per_task: int
) -> str | None:
    if run is None:
        return f"is of run {episode.run!r}, which runs does not list"
    if episode.spec != run.spec:
        return f"is of {episode.spec}, its run {run.id} of {run.spec}"
    if episode.task_id not in tasks.get((episode.spec, episode.split), set()):
        return f"is of task {episode.task_id}, which tasks does not list in {episode.spec} ({episode.split})"
    if not 0 <= episode.index < per_task:
        return f"has index {episode.index}, outside 0 to {per_task - 1} (the protocol's episodes per task)"
    if episode.index != episode.trial * run.trial_episodes + episode.episode:
        return (
            f"has index {episode.index}, but is episode {episode.episode} of trial {episode.trial} "
            f"in trials of {run.trial_episodes}"
        )
    return None


def _unlisted_run(results: Results, runs: dict[str, RunRecord]) -> str | None:
    for n, curve in enumerate(results.adaptation):
        if curve.run not in runs:
            return f"adaptation/{n} is of run {curve.run!r}, which runs does not list"
    for n, grid in enumerate(results.grids):
        unknown = sorted(set(grid.returns) - set(runs))
        if unknown:
            return f"grids/{n} has returns of run {unknown[0]!r}, which runs does not list"
    return None


def _first_repeated(items: Iterable[Item]) -> Item | None:
    seen: set[Item] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None
