"""Derive the scores of :class:`~mtml_rl.evaluation.results.Results` from its raw measurements.

:func:`analyze` fills in the references, the normalized return of every episode, per-task
scores, the rliable aggregates of every method on every split and the probability of
improvement between methods. It is a pure function of the raw data, so ``compare`` can
merge raw results from several evaluations and derive everything again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

import numpy as np

from mtml_rl.errors import MtmlError
from mtml_rl.evaluation import scores
from mtml_rl.evaluation.gaps import gap_rows, oracle_below_solved
from mtml_rl.evaluation.labels import UNKNOWN_RANK, label_rank, method_for_label
from mtml_rl.evaluation.results import (
    Aggregate,
    GridResult,
    Improvement,
    Results,
    RunRecord,
    TaskRecord,
    TaskScore,
    cells_array,
    cells_list,
)
from mtml_rl.evaluation.success import success_aggregates
from mtml_rl.methods import get_method

__all__ = ["UNKNOWN_RANK", "analyze", "label_rank", "method_for_label", "score_matrices"]

TaskKey = tuple[str, str, str]
"""``(spec, split, task_id)``."""

_FLOORED_ENDING = "(gap floored): their normalized scores are unreliable (an undertrained oracle?)"
_NO_REFERENCE_ENDING = (
    "no normalized scores (the family has no documented reference return); "
    "evaluate an oracle run alongside to normalize it"
)
FLOORED_NOTE = (
    "{spec} {split}: on {count} task(s) the reference return is not clearly above the random one "
    + _FLOORED_ENDING
)
NO_REFERENCE_NOTE = "{spec} {split}: " + _NO_REFERENCE_ENDING
_NO_GAP_ENDING = (
    "no meaningful gap between them: adaptation has nothing to close here, so shares of the gap are noise"
)
NO_GAP_NOTE = (
    "{spec} {split}: {blind} scores {low:.2f} [{low_ci:.2f}, {high_ci:.2f}] of the oracle (normalized "
    "mean) against {privileged}'s {high:.2f}; " + _NO_GAP_ENDING
)
_BELOW_SOLVED_ENDING = (
    "normalized scores here measure against an undertrained reference (train it longer: see "
    "docs/evaluation.md)"
)
BELOW_SOLVED_NOTE = (
    "{spec} {split}: the oracle's mean return {oracle:.1f} is below its family's solved level "
    "{solved:.1f}; " + _BELOW_SOLVED_ENDING
)
_DEPLOYED_ENDING = "where the same runs are reported as trained too, the two rows are one set of policies"
DEPLOYED_NOTE = (
    "{spec}: {method} deploys {count} run(s) trained as {trained_as} (the two methods train the same "
    "way); " + _DEPLOYED_ENDING
)
_FIRST_PHASE_ENDING = "the same policy, bit for bit, as a run of its own"
FIRST_PHASE_NOTE = (
    "{spec}: {method} deploys {count} run(s) trained as {trained_as}, whose first phase is its "
    "training: " + _FIRST_PHASE_ENDING
)
_MIXED_ENDING = "its rows aggregate them; compare one setting per report to read each"
NOT_RECORDED = "settings not recorded: results written before schema 1.5 (1.6 for adapt)"
MIXED_DEPLOYMENTS_NOTE = (
    "{spec}: {method}'s runs were deployed with different settings ({settings}); " + _MIXED_ENDING
)
MIXED_TRAINING_NOTE = (
    "{spec}: {method}'s {count} runs are not seeds of one setting ({differences}); " + _MIXED_ENDING
)
POOLED_FIELDS = ("algo", "steps", "trial_episodes", "seed")
"""What runs pooled under one label must share (``seed``: must not repeat) to be seeds of one
setting, as their rows' intervals assume: how they were trained and the trials they played."""
_DERIVED_ENDINGS = (
    _FLOORED_ENDING,
    _NO_REFERENCE_ENDING,
    _NO_GAP_ENDING,
    _BELOW_SOLVED_ENDING,
    _DEPLOYED_ENDING,
    _FIRST_PHASE_ENDING,
    _MIXED_ENDING,
)


def is_derived_note(note: str) -> bool:
    """Whether ``note`` is one :func:`analyze` writes from the data (and rewrites on every call)."""
    return note.endswith(_DERIVED_ENDINGS)


def analyze(results: Results) -> Results:
    """Fill the derived fields of ``results`` in place (and return it).

    Notes about the normalization (floored gaps, missing references) are recomputed, so
    that those of merged inputs, normalized against other references, do not linger.
    """
    protocol = results.protocol
    results.notes = [n for n in results.notes if not is_derived_note(n)]
    per_run = _per_run_task_means(results)
    _set_references(results, per_run)
    _normalize_episodes(results)
    results.task_scores = _task_scores(results)
    for grid in results.grids:
        _normalize_grid(results, grid, protocol.gap_floor)
    results.aggregates, results.improvements = _aggregates(results)
    results.success = success_aggregates(results)
    _note_reference_caveats(results)
    _note_deployed_runs(results)
    _note_mixed_deployments(results)
    _note_mixed_training(results)
    return results


def _note_mixed_training(results: Results) -> None:
    """A note per spec and method whose runs are not seeds of one setting: trained with other
    algorithms, for other steps (another budget, a run taken further) or with other
    hyperparameters or per-method settings (where the results record them, 1.7), evaluated
    in trials of other lengths, or two of one seed (a copy of a run, or a run trained twice).
    Their rows pool them as if they were seeds."""
    runs: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for run in results.runs:
        runs[(run.spec, run.label)].append(run)
    for (spec, method), pooled in sorted(runs.items()):
        differences = [text for name in POOLED_FIELDS if (text := _spread(pooled, name))]
        differences += _settings_spread(pooled)
        if differences:
            results.notes.append(
                MIXED_TRAINING_NOTE.format(
                    spec=spec, method=method, count=len(pooled), differences="; ".join(differences)
                )
            )


def _spread(runs: list[RunRecord], name: str) -> str:
    """``algo ppo (1 run), sac (1 run)`` where ``runs`` differ in ``name`` (``seed``: where one
    repeats), else ``""``."""
    counts = Counter(getattr(run, name) for run in runs)
    repeated = max(counts.values()) > 1
    if (name == "seed" and not repeated) or (name != "seed" and len(counts) == 1):
        return ""
    shown = sorted(counts.items(), key=lambda kv: (kv[0] is None, type(kv[0]).__name__, kv[0] or 0))
    if name == "seed":
        return "seed " + ", ".join(f"{value} in {n} runs" for value, n in shown if n > 1)
    return f"{name} " + ", ".join(f"{value} ({n} run{'s' if n > 1 else ''})" for value, n in shown)


SHOWN_SETTINGS = 3
"""Differing training settings a note names before it counts the rest."""


def _settings_spread(runs: list[RunRecord]) -> list[str]:
    """``learning_rate 0.001 (2 runs), 0.0003 (1 run)`` for each training setting (schema 1.7:
    hyperparameters, per-method settings) in which the runs that record theirs differ."""
    recorded = [run.training for run in runs if run.training is not None]
    if len(recorded) < 2:
        return []
    spreads = []
    for name in sorted(set().union(*recorded)):
        counts = Counter(_compact(settings[name]) if name in settings else "unset" for settings in recorded)
        if len(counts) > 1:
            shown = ", ".join(
                f"{value} ({n} run{'s' if n > 1 else ''})" for value, n in sorted(counts.items())
            )
            spreads.append(f"{name} {shown}")
    more = len(spreads) - SHOWN_SETTINGS
    return spreads[:SHOWN_SETTINGS] + ([f"{more} more training setting(s)"] if more > 0 else [])


def _note_mixed_deployments(results: Results) -> None:
    """A note per spec and method whose runs were deployed with different settings (``finetune``
    at two fine-tuning budgets, or beside results written before settings were recorded): its
    rows average over settings, which the reader must know."""
    settings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for run in results.runs:
        words = NOT_RECORDED if run.deployment is None else deployment_words(run.deployment)
        settings[(run.spec, run.label)].add(words)
    for (spec, method), found in sorted(settings.items()):
        if len(found) > 1:
            results.notes.append(
                MIXED_DEPLOYMENTS_NOTE.format(spec=spec, method=method, settings="; ".join(sorted(found)))
            )


def deployment_words(deployment: dict[str, Any]) -> str:
    """``finetune_hyperparams {n_steps: 15}, finetune_timesteps 5000``: a deployment in a line."""
    return ", ".join(f"{name} {_compact(value)}" for name, value in sorted(deployment.items()))


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)


def _note_deployed_runs(results: Results) -> None:
    """A note per spec and method whose runs were trained as another method (``finetune``
    deploying ``dr``'s runs: the reader learns that those rows share their policies; ``oracle``
    deploying ``adapt``'s: that its policy is the first phase of ``adapt``'s runs)."""
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for run in results.runs:
        if run.trained_as is not None:
            counts[(run.spec, run.label, run.method, run.trained_as)] += 1
    for (spec, label, method, trained_as), count in sorted(counts.items()):
        note = FIRST_PHASE_NOTE if _first_phase_of(trained_as) == method else DEPLOYED_NOTE
        results.notes.append(note.format(spec=spec, method=label, count=count, trained_as=trained_as))


def _first_phase_of(method: str) -> str | None:
    """The method whose training is ``method``'s first phase (``None``: none, or ``method`` is
    not registered here)."""
    try:
        return get_method(method).first_phase
    except MtmlError:
        return None


def _note_reference_caveats(results: Results) -> None:
    """Notes on splits whose oracle is below its solved level or whose gap is not meaningful."""
    for below in oracle_below_solved(results):
        results.notes.append(
            BELOW_SOLVED_NOTE.format(
                spec=below.spec, split=below.split, oracle=below.oracle_return, solved=below.solved_return
            )
        )
    for row in gap_rows(results):
        if not row.meaningful:
            low, high = row.blind.mean, row.privileged.mean
            results.notes.append(
                NO_GAP_NOTE.format(
                    spec=row.spec,
                    split=row.split,
                    blind=row.blind.label,
                    privileged=row.privileged.label,
                    low=low.point,
                    low_ci=low.low,
                    high_ci=low.high,
                    high=high.point,
                )
            )


def _per_run_task_means(results: Results) -> dict[tuple[str, TaskKey], float]:
    returns: dict[tuple[str, TaskKey], list[float]] = defaultdict(list)
    for e in results.episodes:
        returns[(e.run, (e.spec, e.split, e.task_id))].append(e.ret)
    return {key: float(np.mean(values)) for key, values in returns.items()}


def _set_references(results: Results, per_run: dict[tuple[str, TaskKey], float]) -> None:
    oracle_runs = {r.id for r in results.runs if r.privileged}
    oracle: dict[TaskKey, list[float]] = defaultdict(list)
    for (run, key), value in per_run.items():
        if run in oracle_runs:
            oracle[key].append(value)
    for task in results.tasks:
        measured = oracle.get((task.spec, task.split, task.task_id))
        task.oracle_return = float(np.mean(measured)) if measured else None
        _choose_reference(task, results.protocol.gap_floor)


def _choose_reference(task: TaskRecord, floor: float) -> None:
    if task.oracle_return is not None:
        task.reference_return, task.reference_source = task.oracle_return, "oracle"
    elif task.family_reference is not None:
        task.reference_return, task.reference_source = task.family_reference, "family"
    else:
        task.reference_return, task.reference_source, task.gap_floored = None, None, False
        return
    _, task.gap_floored = scores.normalization_gap(task.random_return, task.reference_return, floor)


def _task_index(results: Results) -> dict[TaskKey, TaskRecord]:
    return {(t.spec, t.split, t.task_id): t for t in results.tasks}


def _normalize_episodes(results: Results) -> None:
    tasks = _task_index(results)
    floor = results.protocol.gap_floor
    for e in results.episodes:
        task = tasks[(e.spec, e.split, e.task_id)]
        if task.reference_return is None:
            e.normalized = None
        else:
            e.normalized = scores.normalize(e.ret, task.random_return, task.reference_return, floor)


def _task_scores(results: Results) -> list[TaskScore]:
    grouped: dict[tuple[str, TaskKey], list] = defaultdict(list)
    for e in results.episodes:
        grouped[(e.run, (e.spec, e.split, e.task_id))].append(e)
    out = []
    for (run, (spec, split, task_id)), episodes in grouped.items():
        normalized = [e.normalized for e in episodes]
        out.append(
            TaskScore(
                run=run,
                spec=spec,
                split=split,
                task_id=task_id,
                mean_return=float(np.mean([e.ret for e in episodes])),
                success_rate=scores.mean_or_none([e.success for e in episodes]),
                normalized=None if None in normalized else float(np.mean(normalized)),
            )
        )
    return out


def score_matrices(results: Results) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """``{(spec, split): {label: (runs, tasks) normalized scores}}`` where every task has a
    reference; runs in seed order, tasks in the split's order."""
    runs = {r.id: r for r in results.runs}
    order: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in results.tasks:
        order[(t.spec, t.split)].append(t.task_id)
    cells: dict[tuple[str, str], dict[str, dict[str, float | None]]] = defaultdict(lambda: defaultdict(dict))
    for s in results.task_scores:
        cells[(s.spec, s.split)][s.run][s.task_id] = s.normalized
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for group, by_run in cells.items():
        tasks = order[group]
        rows: dict[str, list[list[float]]] = defaultdict(list)
        complete = True
        for run_id in sorted(by_run, key=lambda r: (runs[r].seed, r)):
            row = [by_run[run_id].get(t) for t in tasks]
            if any(v is None for v in row):
                complete = False
                break
            rows[runs[run_id].label].append([float(v) for v in row if v is not None])
        if complete:
            out[group] = {k: np.array(v) for k, v in sorted(rows.items(), key=lambda kv: label_rank(kv[0]))}
    return out


def _aggregates(results: Results) -> tuple[list[Aggregate], list[Improvement]]:
    protocol = results.protocol
    aggregates: list[Aggregate] = []
    improvements: list[Improvement] = []
    raw = _raw_means(results)
    for (spec, split), matrices in score_matrices(results).items():
        seed = protocol.seed
        intervals = scores.aggregate_intervals(
            matrices, reps=protocol.bootstrap_reps, seed=seed, confidence=protocol.confidence
        )
        for label, matrix in matrices.items():
            mean_return, success = raw[(spec, split, label)]
            aggregates.append(
                Aggregate(
                    spec,
                    split,
                    label,
                    matrix.shape[0],
                    matrix.shape[1],
                    **intervals[label],
                    mean_return=mean_return,
                    success_rate=success,
                )
            )
        pairs = list(combinations(matrices, 2))
        probabilities = scores.improvement_probabilities(
            matrices, pairs, reps=protocol.bootstrap_reps, seed=seed, confidence=protocol.confidence
        )
        improvements += [Improvement(spec, split, x, y, p) for (x, y), p in probabilities.items()]
    _note_missing(results, {(a.spec, a.split) for a in aggregates})
    return aggregates, improvements


def _raw_means(results: Results) -> dict[tuple[str, str, str], tuple[float, float | None]]:
    runs = {r.id: r for r in results.runs}
    grouped: dict[tuple[str, str, str], list] = defaultdict(list)
    for s in results.task_scores:
        grouped[(s.spec, s.split, runs[s.run].label)].append(s)
    return {
        key: (
            float(np.mean([s.mean_return for s in group])),
            scores.mean_or_none([s.success_rate for s in group]),
        )
        for key, group in grouped.items()
    }


def _note_missing(results: Results, done: set[tuple[str, str]]) -> None:
    floored: dict[tuple[str, str], int] = defaultdict(int)
    for t in results.tasks:
        floored[(t.spec, t.split)] += t.gap_floored
    for (spec, split), count in sorted(floored.items()):
        if count:
            note = FLOORED_NOTE.format(spec=spec, split=split, count=count)
            if note not in results.notes:
                results.notes.append(note)
    missing = sorted({(t.spec, t.split) for t in results.tasks if t.reference_return is None} - done)
    for spec, split in missing:
        note = NO_REFERENCE_NOTE.format(spec=spec, split=split)
        if note not in results.notes:
            results.notes.append(note)


def _normalize_grid(results: Results, grid: GridResult, floor: float) -> None:
    oracle = [cells_array(v) for run, v in grid.returns.items() if results.run(run).privileged]
    random = cells_array(grid.random_return)
    if oracle:
        reference = np.mean(oracle, axis=0)
    elif grid.family_reference is not None:
        reference = np.where(np.isnan(random), np.nan, grid.family_reference)
    else:
        grid.reference_return, grid.normalized = None, {}
        return
    grid.reference_return = cells_list(reference)
    vectorized = np.vectorize(
        lambda r, lo, hi: scores.normalize(r, lo, hi, floor) if np.isfinite(r) else np.nan
    )
    grid.normalized = {
        run: cells_list(vectorized(cells_array(values), random, reference))
        for run, values in grid.returns.items()
    }
