"""Merging raw results of several evaluations into one (for ``compare``)."""

from __future__ import annotations

import json
from dataclasses import replace

from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.results import GridResult, Protocol, Results, RunRecord

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

    A run evaluated in several parts (same directory, deployed as the same method) is kept
    once, from the first; a run deployed as two methods (a ``dr`` run, and the same run as
    ``finetune``) is two runs of the comparison. Runs get new ids ``run0``, ``run1`` ... in
    input order.
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
    for part in parts:
        ids = _merge_runs(merged, part, seen_runs)
        for t in part.tasks:
            if (t.spec, t.split, t.task_id) not in seen_tasks:
                seen_tasks.add((t.spec, t.split, t.task_id))
                merged.tasks.append(replace(t))
        merged.episodes += [replace(e, run=ids[e.run]) for e in part.episodes if e.run in ids]
        merged.adaptation += [replace(a, run=ids[a.run]) for a in part.adaptation if a.run in ids]
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


def _merge_runs(merged: Results, part: Results, seen: dict[tuple[str, str, str], str]) -> dict[str, str]:
    """Add ``part``'s new runs (a new directory, or one deployed as another method or with
    other deployment settings); returns ``{old id: new id}`` of the runs taken from it."""
    ids = {}
    for run in part.runs:
        if run_key(run) in seen:
            continue
        new_id = f"run{len(merged.runs)}"
        seen[run_key(run)] = new_id
        ids[run.id] = new_id
        merged.runs.append(replace(run, id=new_id))
    return ids


def _same_axes(a: GridResult, b: GridResult) -> bool:
    return (a.spec, a.params, a.x_values, a.y_values, a.others) == (
        b.spec,
        b.params,
        b.x_values,
        b.y_values,
        b.others,
    )


def _merge_grid(merged: Results, grid: GridResult, ids: dict[str, str]) -> None:
    returns = {ids[run]: values for run, values in grid.returns.items() if run in ids}
    for existing in merged.grids:
        if _same_axes(existing, grid):
            existing.returns.update(returns)
            return
    merged.grids.append(replace(grid, returns=returns, normalized={}, reference_return=None))
