"""Merging raw results of several evaluations into one (for ``compare``)."""

from __future__ import annotations

import json
from dataclasses import replace

from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.results import EpisodeRow, GridResult, Protocol, Results, RunRecord

PROTOCOL_FIELDS = ("episodes", "seed", "deterministic")
"""Fields of the protocol that merged results must share for their numbers to compare."""


def _check_protocols(parts: list[Results]) -> None:
    first = parts[0].protocol
    for part in parts[1:]:
        differ = [
            f"{name} {getattr(first, name)} vs {getattr(part.protocol, name)}"
            for name in PROTOCOL_FIELDS
            if getattr(first, name) != getattr(part.protocol, name)
        ]
        if differ:
            raise ConfigError(
                "the inputs were evaluated under different protocols (" + "; ".join(differ) + "); "
                "evaluate them again with the same --episodes, --seed and --stochastic"
            )


def merge_results(parts: list[Results], bootstrap_reps: int) -> Results:
    """One :class:`Results` holding the raw data of all ``parts`` (derived fields are left for
    :func:`~mtml_rl.evaluation.analysis.analyze`).

    A run evaluated in several parts (same directory, deployed as the same method with the
    same settings) is one run of the comparison: each of its splits is taken from the first
    part that holds it, so a run's train split evaluated once and its test splits later
    merge whole. A split two parts hold with other episodes (another machine, another
    version) is noted in the report; parts of one run that disagree on the model (its steps,
    its spec) or the trial length are refused. A run deployed as two methods (a ``dr`` run,
    and the same run as ``finetune``) is two runs of the comparison. Runs get new ids
    ``run0``, ``run1`` ... in input order.
    """
    if not parts:
        raise ConfigError("nothing to compare")
    _check_protocols(parts)
    first = parts[0].protocol
    splits = list(dict.fromkeys(s for p in parts for s in p.protocol.splits))
    merged = Results(
        Protocol(first.episodes, first.seed, first.deterministic, splits, bootstrap_reps), [], [], []
    )
    seen_runs: dict[tuple[str, str, str], str] = {}
    seen_tasks: set[tuple[str, str, str]] = set()
    taken: dict[tuple[str, str, str], list[Outcome]] = {}
    for part in parts:
        ids = _merge_runs(merged, part, seen_runs)
        for t in part.tasks:
            if (t.spec, t.split, t.task_id) not in seen_tasks:
                seen_tasks.add((t.spec, t.split, t.task_id))
                merged.tasks.append(replace(t))
        new = _take_episodes(merged, part, ids, taken)
        merged.adaptation += [
            replace(a, run=ids[a.run]) for a in part.adaptation if (ids[a.run], a.spec, a.split) in new
        ]
        for grid in part.grids:
            _merge_grid(merged, grid, ids)
        merged.notes += [n for n in part.notes if n not in merged.notes]
        merged.headlines.update(part.headlines)
    return merged


def run_key(run: RunRecord) -> tuple[str, str, str]:
    """What makes two run records one deployed policy: its directory, the method it was
    deployed as and that method's deployment settings (``finetune`` of one ``dr`` run with
    two fine-tuning budgets is two; a record written before results recorded settings is one
    of its own, and the report's note on mixed settings names it)."""
    return (run.path, run.method, json.dumps(run.deployment, sort_keys=True))


Outcome = tuple[str, int, float, int, "bool | None"]
"""An episode's task, index, return, length and success (:func:`_outcome`)."""

SAME_RUN_FIELDS = ("steps", "spec_hash", "trial_episodes")
"""What the records of one run in several parts must agree on: the model evaluated, the
tasks it was evaluated on and the trials it played (episodes are numbered by them)."""


def _merge_runs(merged: Results, part: Results, seen: dict[tuple[str, str, str], str]) -> dict[str, str]:
    """Add ``part``'s new runs (a new directory, or one deployed as another method or with
    other deployment settings); returns ``{old id: new id}`` of all of ``part``'s runs.

    :raises ConfigError: a run seen before disagrees in :data:`SAME_RUN_FIELDS`, or a new
        one was trained on another version of a spec than the runs before it
    """
    ids = {}
    for run in part.runs:
        known = seen.get(run_key(run))
        if known is not None:
            _check_same_run(merged.run(known), run)
            ids[run.id] = known
            continue
        _check_same_tasks(merged, run)
        new_id = f"run{len(merged.runs)}"
        seen[run_key(run)] = new_id
        ids[run.id] = new_id
        merged.runs.append(replace(run, id=new_id))
    return ids


def _check_same_tasks(merged: Results, run: RunRecord) -> None:
    """Runs of one spec id are compared on one task list: refuse a run of another version of
    the spec (as ``evaluate`` does), whose splits hold other tasks under the same names."""
    first = next((r for r in merged.runs if r.spec == run.spec), None)
    if first is not None and first.spec_hash != run.spec_hash:
        raise ConfigError(
            f"{run.path} and {first.path} were trained on different tasks of {run.spec} (spec "
            f"hashes {run.spec_hash} and {first.spec_hash}); compare them separately"
        )


def _check_same_run(kept: RunRecord, other: RunRecord) -> None:
    differ = [
        f"{name} {getattr(kept, name)} and {getattr(other, name)}"
        for name in SAME_RUN_FIELDS
        if getattr(kept, name) != getattr(other, name)
    ]
    if differ:
        raise ConfigError(
            f"{other.path} ({other.label}) was evaluated in two of the inputs with "
            f"{'; '.join(differ)}: trained on, or its spec changed, or played in other trials, "
            "between the evaluations; evaluate it again on every split at once"
        )


def _take_episodes(
    merged: Results, part: Results, ids: dict[str, str], taken: dict[tuple[str, str, str], list[Outcome]]
) -> set[tuple[str, str, str]]:
    """Add ``part``'s episodes of each (run, spec, split) no earlier part held; note a split
    an earlier part held with other episodes. Returns the (run, spec, split) added."""
    groups: dict[tuple[str, str, str], list[Outcome]] = {}
    for e in part.episodes:
        groups.setdefault((ids[e.run], e.spec, e.split), []).append(_outcome(e))
    added = set()
    for key, outcomes in groups.items():
        played = sorted(outcomes)
        if key not in taken:
            taken[key] = played
            added.add(key)
        elif taken[key] != played:
            run = merged.run(key[0])
            note = (
                f"{run.path} ({run.label}) on {key[1]} {key[2]} was evaluated in two inputs with "
                "different episodes (on another machine or version?); the first input's are used"
            )
            if note not in merged.notes:
                merged.notes.append(note)
    merged.episodes += [
        replace(e, run=ids[e.run]) for e in part.episodes if (ids[e.run], e.spec, e.split) in added
    ]
    return added


def _outcome(e: EpisodeRow) -> Outcome:
    """What an episode's record says happened (its place among the task's episodes and how
    it went), for comparing two evaluations of one split."""
    return (e.task_id, e.index, e.ret, e.length, e.success)


def _same_axes(a: GridResult, b: GridResult) -> bool:
    return (a.spec, a.params, a.x_values, a.y_values, a.others) == (
        b.spec,
        b.params,
        b.x_values,
        b.y_values,
        b.others,
    )


def _merge_grid(merged: Results, grid: GridResult, ids: dict[str, str]) -> None:
    """Add ``grid``'s returns to the merged grid of the same axes (a run's first returns kept)."""
    returns = {ids[run]: values for run, values in grid.returns.items()}
    for existing in merged.grids:
        if _same_axes(existing, grid):
            for run, values in returns.items():
                existing.returns.setdefault(run, values)
            return
    merged.grids.append(replace(grid, returns=returns, normalized={}, reference_return=None))
