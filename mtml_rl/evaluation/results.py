"""The evaluation results: records, ``results.json`` (versioned schema), ``results.csv``.

A :class:`Results` holds the raw measurements (runs, tasks with their random and reference
returns, every episode, adaptation curves, the generalization grid) and what is derived
from them (normalized scores, per-task scores, rliable aggregates). ``results.json`` is its
JSON form, validated against the JSON Schema shipped next to this module
(``results.schema.json``, documented in ``docs/results-format.md``).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.errors import CheckpointError
from mtml_rl.evaluation.consistency import consistency_problem
from mtml_rl.tasks.params import ParamValue

SCHEMA_VERSION = "1.7"
"""Version of the ``results.json`` format (major.minor; readers accept the same major)."""
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
"""The JSON Schema of ``results.json``."""
CSV_COLUMNS = (
    "run",
    "label",
    "method",
    "seed",
    "spec",
    "split",
    "task_id",
    "params",
    "trial",
    "episode",
    "index",
    "return",
    "length",
    "success",
    "normalized",
)
"""Columns of ``results.csv``: one row per (run, task, episode)."""


@dataclass
class RunRecord:
    """One evaluated run.

    :param id: its id in these results (``run0`` ...)
    :param path: the run directory (absolute)
    :param label: the name it is reported under (its method; the oracle is marked privileged)
    :param method: the training method
    :param algo: the SB3 algorithm
    :param seed: the training seed
    :param spec: the spec id
    :param spec_hash: the spec's content hash
    :param split_hashes: the hash of every split
    :param privileged: whether the deployed agent read the true context (only the oracle)
    :param trial_episodes: episodes per trial it was evaluated with
    :param steps: environment steps it was trained for (``None`` if unknown)
    :param cpu_kernels: the CPU kernels it was trained with
        (:func:`~mtml_rl.training.rundir.recorded_kernels`; ``None``: not recorded) (1.3)
    :param trained_as: the method the run was trained as, where it was deployed as another
        that trains the same way (a ``dr`` run deployed as ``finetune``) or whose training is the
        run's first phase (an ``adapt`` run deployed as ``oracle``; ``None``: deployed as
        trained) (1.4)
    :param deployment: the values of its method's deployment fields it was evaluated with
        (``finetune``: ``finetune_timesteps``, ``finetune_hyperparams``; ``None``: a method
        with none) (1.5)
    :param test_task_steps: environment steps the deployed method trains on each test task
        before its episodes (``finetune``'s clone, in whole rollouts; ``None``: none) (1.5)
    :param training: what the run was trained with besides its seed, budget and algorithm: the
        hyperparameters it recorded and the per-method settings the deployed method reads
        (:func:`~mtml_rl.evaluation.runs.training_settings`; ``None``: not recorded) (1.7)
    """

    id: str
    path: str
    label: str
    method: str
    algo: str
    seed: int
    spec: str
    spec_hash: str
    split_hashes: dict[str, str]
    privileged: bool
    trial_episodes: int
    steps: int | None
    cpu_kernels: str | None = None
    trained_as: str | None = None
    deployment: dict[str, Any] | None = None
    test_task_steps: int | None = None
    training: dict[str, Any] | None = None


@dataclass
class TaskRecord:
    """One task of one split, with the returns its normalization uses.

    :param spec: the spec id
    :param split: the split
    :param task_id: the task's id
    :param params: its parameter values (names for categorical parameters)
    :param random_return: mean return of a uniform random agent (same seeds, same episodes)
    :param oracle_return: mean return of the oracle runs evaluated alongside (``None``: none)
    :param family_reference: the documented per-family reference (``None``: none documented)
    :param reference_return: the reference used (the oracle's if measured, else the family's)
    :param reference_source: ``oracle``, ``family`` or ``None`` (no reference: not normalized)
    :param gap_floored: whether ``reference - random`` was raised to its floor
    :param solved_return: the family's documented solved level (``None``: none documented), the
        return an oracle should reach on tasks inside the train ranges (1.2)
    """

    spec: str
    split: str
    task_id: str
    params: dict[str, ParamValue]
    random_return: float
    oracle_return: float | None = None
    family_reference: float | None = None
    reference_return: float | None = None
    reference_source: str | None = None
    gap_floored: bool = False
    solved_return: float | None = None


@dataclass
class EpisodeRow:
    """One evaluated episode.

    :param run: the run's id
    :param spec: the spec id
    :param split: the split
    :param task_id: the task
    :param trial: the trial's index among the task's trials
    :param episode: the episode's index within its trial
    :param index: the episode's index among the task's episodes
    :param ret: the undiscounted return
    :param length: steps
    :param success: success flag (``None`` where the family defines none)
    :param normalized: the normalized return (``None`` without a reference)
    """

    run: str
    spec: str
    split: str
    task_id: str
    trial: int
    episode: int
    index: int
    ret: float
    length: int
    success: bool | None
    normalized: float | None = None


@dataclass
class TaskScore:
    """One run's score on one task (the mean over its episodes)."""

    run: str
    spec: str
    split: str
    task_id: str
    mean_return: float
    success_rate: float | None
    normalized: float | None


@dataclass
class Interval:
    """A point estimate with its 95% stratified bootstrap confidence interval."""

    point: float
    low: float
    high: float


@dataclass
class Aggregate:
    """Aggregate normalized scores of one method on one split (rliable)."""

    spec: str
    split: str
    label: str
    runs: int
    tasks: int
    iqm: Interval
    mean: Interval
    median: Interval
    optimality_gap: Interval
    mean_return: float
    success_rate: float | None


@dataclass
class SuccessAggregate:
    """Aggregate success rate of one method on one split, over every task or one group of them
    (rliable's IQM and mean over runs x tasks of per-task success rates, 95% stratified
    bootstrap intervals).

    :param spec: the spec id
    :param split: the split
    :param label: the method's label
    :param group: ``"all"``, or the tasks sharing categorical values (``"env=reach-v3"``)
    :param runs: runs (seeds)
    :param tasks: tasks in the group
    :param iqm: interquartile mean of the per-task success rates
    :param mean: their mean
    """

    spec: str
    split: str
    label: str
    group: str
    runs: int
    tasks: int
    iqm: Interval
    mean: Interval


@dataclass
class Improvement:
    """Probability that method ``x`` scores above method ``y`` on a random task (rliable)."""

    spec: str
    split: str
    x: str
    y: str
    probability: Interval


@dataclass
class AdaptationCurve:
    """How one run's return builds up within episodes and trials on one split.

    :param step_return: mean cumulative reward after each step (an ended episode keeps its
        final return)
    :param episode_return: mean return of the ``j``-th episode of a trial
    :param latent_error: mean ``|ẑ − z|`` at each step over the episodes still running
        (``None`` entries: no episode that long; the whole list ``None``: no latent)
    :param mean_latent_error: mean ``|z̄ − z|`` over the tasks, ``z̄`` the mean latent of the
        estimator's training data: the best constant guess, the baseline of ``latent_error``
        (``None``: not measured) (1.2)
    """

    run: str
    spec: str
    split: str
    step_return: list[float]
    episode_return: list[float]
    latent_error: list[float | None] | None = None
    mean_latent_error: float | None = None


@dataclass
class GridResult:
    """Returns over a 2-D grid of two parameters (the others held fixed).

    :param spec: the spec id
    :param params: the two parameters (x axis, y axis)
    :param x_values: the first parameter's values (names along a categorical axis)
    :param y_values: the second parameter's values
    :param others: the values of the other varying parameters
    :param train_boxes: the train region: ``[[x_low, x_high], [y_low, y_high]]`` boxes (in
        index coordinates along a categorical axis)
    :param held_out_box: the combinatorial hold-out box on these axes, if any
    :param random_return: ``[y][x]`` random returns (``None`` in a cell the family rejects:
        its values are not a task)
    :param family_reference: the documented reference return, if any
    :param returns: ``{run id: [y][x] mean returns}``
    :param reference_return: ``[y][x]`` references used (derived)
    :param normalized: ``{run id: [y][x] normalized returns}`` (derived)
    """

    spec: str
    params: list[str]
    x_values: list[ParamValue]
    y_values: list[ParamValue]
    others: dict[str, ParamValue]
    train_boxes: list[list[list[float]]]
    held_out_box: list[list[float]] | None
    random_return: list[list[float | None]]
    family_reference: float | None
    returns: dict[str, list[list[float | None]]]
    reference_return: list[list[float | None]] | None = None
    normalized: dict[str, list[list[float | None]]] = field(default_factory=dict)


def cells_array(cells: list[list[float | None]]) -> np.ndarray:
    """``[y][x]`` grid cells as a float array, empty cells (``None``) as NaN."""
    return np.array([[np.nan if v is None else v for v in row] for row in cells], dtype=np.float64)


def cells_list(array: np.ndarray) -> list[list[float | None]]:
    """Inverse of :func:`cells_array`: NaN cells become ``None`` (JSON ``null``)."""
    return [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(array, dtype=np.float64)]


@dataclass
class Protocol:
    """How the episodes were played (merged results must share it)."""

    episodes: int
    seed: int
    deterministic: bool
    splits: list[str]
    bootstrap_reps: int = 2000
    confidence: float = 0.95
    gap_floor: float = 0.01


@dataclass
class Results:
    """Everything one evaluation (or comparison) measured and derived."""

    protocol: Protocol
    runs: list[RunRecord]
    tasks: list[TaskRecord]
    episodes: list[EpisodeRow]
    adaptation: list[AdaptationCurve] = field(default_factory=list)
    grids: list[GridResult] = field(default_factory=list)
    task_scores: list[TaskScore] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    improvements: list[Improvement] = field(default_factory=list)
    success: list[SuccessAggregate] = field(default_factory=list)
    headlines: dict[str, str] = field(default_factory=dict)
    pictures: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def run(self, run_id: str) -> RunRecord:
        """The run with id ``run_id``."""
        return next(r for r in self.runs if r.id == run_id)

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` document."""
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _interval_fields(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {**data, **{k: _build(Interval, data[k]) for k in keys}}


def results_from_json(data: dict[str, Any]) -> Results:
    """Inverse of :meth:`Results.to_json` (the document must be valid, see :func:`validate`)."""
    metric_keys = ("iqm", "mean", "median", "optimality_gap")
    return Results(
        protocol=_build(Protocol, data["protocol"]),
        runs=[_build(RunRecord, r) for r in data["runs"]],
        tasks=[_build(TaskRecord, t) for t in data["tasks"]],
        episodes=[_build(EpisodeRow, e) for e in data["episodes"]],
        adaptation=[_build(AdaptationCurve, a) for a in data["adaptation"]],
        grids=[_build(GridResult, g) for g in data["grids"]],
        task_scores=[_build(TaskScore, s) for s in data["task_scores"]],
        aggregates=[_build(Aggregate, _interval_fields(a, metric_keys)) for a in data["aggregates"]],
        improvements=[
            _build(Improvement, _interval_fields(i, ("probability",))) for i in data["improvements"]
        ],
        success=[
            _build(SuccessAggregate, _interval_fields(a, ("iqm", "mean"))) for a in data.get("success", [])
        ],
        headlines=dict(data.get("headlines", {})),
        pictures=list(data["pictures"]),
        videos=list(data["videos"]),
        notes=list(data["notes"]),
    )


def schema() -> dict[str, Any]:
    """The JSON Schema of ``results.json``."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _validator() -> Any:
    """The schema's validator, built (and the schema checked) once per process: building it
    took about as long as validating a trial's ``results.json`` with it."""
    import jsonschema

    document = schema()
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document)


def non_finite(document: Any) -> tuple[str, float] | None:
    """The path (``episodes/3/ret``) and value of the first NaN or infinite number in a JSON
    document, or ``None``."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return where or "(top level)", value
        if isinstance(value, dict):
            stack.extend((f"{where}/{k}".lstrip("/"), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{where}/{i}".lstrip("/"), v) for i, v in reversed(list(enumerate(value))))
    return None


def check_finite(document: Any, source: str = "results.json") -> None:
    """Refuse a results document holding NaN or an infinity (:class:`CheckpointError`): its
    scores and intervals would be ``nan`` and compare to nothing."""
    found = non_finite(document)
    if found is not None:
        where, value = found
        raise CheckpointError(
            f"{source}: {where} is {value}, not a finite number; a run or environment produced "
            "NaN or infinite returns: check that run (train it again if its model is damaged), "
            "then evaluate it again"
        )


def _is_newer(version: str) -> bool:
    """Whether a ``schema_version`` is newer than :data:`SCHEMA_VERSION` (``False`` if unreadable)."""
    try:
        return tuple(map(int, version.split("."))) > tuple(map(int, SCHEMA_VERSION.split(".")))
    except ValueError:
        return False


def validate(document: Any, source: str = "results.json") -> None:
    """Check a ``results.json`` document against the schema and refuse non-finite numbers;
    raises :class:`CheckpointError`."""
    import jsonschema

    if not isinstance(document, dict):
        raise CheckpointError(f"{source}: not a results document (expected a JSON object)")
    version = str(document.get("schema_version", ""))
    newer = _is_newer(version)
    upgrade = "; it was written by a newer mtml-rl: upgrade to read it, or re-evaluate the runs with this one"
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise CheckpointError(
            f"{source}: schema_version {version or 'missing'} is not readable by this version "
            f"(reads {SCHEMA_VERSION.split('.')[0]}.x)" + (upgrade if newer else "; re-evaluate the runs")
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:  # the error jsonschema.validate raises
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise CheckpointError(
            f"{source}: invalid results at {where}: {error.message}" + (upgrade if newer else "")
        )
    check_finite(document, source)


def load_results(path: str | Path) -> Results:
    """Read and validate a ``results.json`` (or a folder holding one)."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    try:
        document = json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{file}: cannot read results ({exc})") from None
    except RecursionError:
        raise CheckpointError(f"{file}: cannot read results (nested too deeply)") from None
    validate(document, str(file))
    results = results_from_json(document)
    problem = consistency_problem(results)
    if problem is not None:
        raise CheckpointError(
            f"{file}: its records disagree: {problem}; it was not written whole by mtml-rl "
            "(edited, cut or merged by hand?): evaluate the runs again, or merge evaluations "
            "with `mtml-rl compare`"
        )
    return results


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------
def csv_rows(results: Results) -> list[dict[str, Any]]:
    """The rows of ``results.csv``, one per episode, in the order of ``results.episodes``."""
    runs = {r.id: r for r in results.runs}
    params = {(t.spec, t.split, t.task_id): t.params for t in results.tasks}
    rows = []
    for e in results.episodes:
        run = runs[e.run]
        rows.append(
            {
                "run": e.run,
                "label": run.label,
                "method": run.method,
                "seed": run.seed,
                "spec": e.spec,
                "split": e.split,
                "task_id": e.task_id,
                "params": json.dumps(params[(e.spec, e.split, e.task_id)], sort_keys=True),
                "trial": e.trial,
                "episode": e.episode,
                "index": e.index,
                "return": repr(e.ret),
                "length": e.length,
                "success": "" if e.success is None else str(e.success).lower(),
                "normalized": "" if e.normalized is None else repr(e.normalized),
            }
        )
    return rows


def csv_text(results: Results) -> str:
    """``results.csv`` as text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(results))
    return buffer.getvalue()
