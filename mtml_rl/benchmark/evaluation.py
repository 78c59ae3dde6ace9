"""The benchmark's evaluation step, behind two functions over :mod:`mtml_rl.evaluation`.

:func:`evaluate_trial` evaluates one finished run (in the trial's worker, with
:func:`mtml_rl.evaluation.evaluate.evaluate`) and :func:`compare_trials` merges every
trial's evaluation into one report (in the driver, with
:func:`mtml_rl.evaluation.evaluate.compare`). They are the only places the benchmark
touches evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mtml_rl.errors import MtmlError
from mtml_rl.evaluation.evaluate import EvalConfig, compare, evaluate
from mtml_rl.evaluation.output import REPORT_FILE, RESULTS_FILE
from mtml_rl.evaluation.results import Aggregate, Results, SuccessAggregate, load_results
from mtml_rl.io import MANIFEST_FILE, atomic_write_json
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.registry import get_method

MARKER_FILE = "benchmark.json"
"""Written into a trial's evaluation folder once it is complete, with the settings it used."""
OTHER_SETTINGS = "it was made with other evaluation settings"
"""What :func:`evaluation_problem` says of a whole evaluation made with other settings."""
OTHER_RUN = "it is of another run, or of the run deployed otherwise"
"""What :func:`evaluation_problem` says of a whole evaluation of another run or deployment."""
TRIAL_BOOTSTRAP_REPS = 100
"""Bootstrap replications of a single trial's evaluation: its intervals over one run are
degenerate and superseded by the compare report's, so they are not worth 2000."""


@dataclass(frozen=True)
class ScoreRow:
    """One (spec, method, split) cell of the comparison.

    :param spec: the spec's name
    :param method: the method
    :param split: the split
    :param runs: runs (seeds) aggregated
    :param tasks: tasks per run
    :param mean_return: mean raw return over runs × tasks
    :param iqm: IQM of normalized scores (``None`` where there is no reference to normalize by)
    :param low: lower end of its 95% stratified bootstrap interval
    :param high: upper end of that interval
    """

    spec: str
    method: str
    split: str
    runs: int
    tasks: int
    mean_return: float
    iqm: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Comparison:
    """The benchmark's compare report: its rows and its folder.

    :param report_dir: the folder of report.md, results.json, results.csv and the figures
    :param rows: one per (spec, method, split)
    :param notes: the evaluation's caveats (e.g. splits whose reference is not above random)
    :param success: the success-rate aggregates, per split and group of tasks, named as the
        rows name specs and methods (empty where no family of the comparison defines success)
    """

    report_dir: Path
    rows: list[ScoreRow]
    notes: list[str] = field(default_factory=list)
    success: list[SuccessAggregate] = field(default_factory=list)

    @property
    def report(self) -> Path:
        """The markdown report."""
        return self.report_dir / REPORT_FILE


def eval_config(
    settings: dict[str, Any], splits: Sequence[str] | None, bootstrap_reps: int, *, figures: bool = True
) -> EvalConfig:
    """The evaluation API's config of the benchmark's evaluation settings (no progress bar)."""
    return EvalConfig(
        splits=tuple(splits) if splits is not None else None,
        episodes=int(settings["episodes"]),
        seed=int(settings["seed"]),
        deterministic=bool(settings["deterministic"]),
        bootstrap_reps=bootstrap_reps,
        progress=False,
        figures=figures,
    )


def evaluated_run(run_dir: str | Path, deployment: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a trial's evaluation is of, as its marker records it: the run folder's name, the
    SHA-256 of its ``final/`` manifest (which hashes every file of the final model: a run
    trained again into the same folder is another run unless it is the same bit for bit;
    ``None`` before it is trained) and the deployment (``{"method": ..., "fields": {...}}``
    where the trial deploys another trial's run as its own method, ``{}``: as trained)."""
    return {
        "run": Path(run_dir).name,
        "final": _file_sha256(Path(run_dir) / "final" / MANIFEST_FILE),
        "deployment": dict(deployment or {}),
    }


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def evaluation_problem(eval_dir: Path, settings: dict[str, Any], source: dict[str, Any]) -> str | None:
    """Why ``eval_dir`` does not hold a complete evaluation of ``source`` (:func:`evaluated_run`)
    made with ``settings`` (``None``: it does): its marker must record both, and its
    ``results.json`` must parse, match its schema and hold only finite numbers.

    A marker without a record of its run (written before runs could be shared) is of the
    run of its own name as it is now, deployed as trained."""
    try:
        marker = json.loads((eval_dir / MARKER_FILE).read_text(encoding="utf-8"))
        recorded = marker["settings"]
        of = {
            "run": marker.get("run", eval_dir.name),
            "final": marker.get("final", source["final"]),
            "deployment": marker.get("deployment", {}),
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return f"no complete evaluation ({MARKER_FILE} is missing or unreadable)"
    if recorded != settings:
        return OTHER_SETTINGS
    if of != source:
        return OTHER_RUN
    try:
        load_results(eval_dir / RESULTS_FILE)
    except MtmlError as exc:
        return str(exc)
    return None


def evaluation_is_current(eval_dir: Path, settings: dict[str, Any], source: dict[str, Any]) -> bool:
    """Whether ``eval_dir`` holds a complete, valid evaluation of ``source`` made with ``settings``."""
    return evaluation_problem(eval_dir, settings, source) is None


def evaluate_trial(
    run_dir: Path, eval_dir: Path, settings: dict[str, Any], deployment: Mapping[str, Any] | None = None
) -> Path:
    """Evaluate the finished run in ``run_dir`` into ``eval_dir`` on the settings' splits
    that its spec has and its method can play (a task-id method skips held-out environments);
    returns the ``results.json``. No pictures: the comparison of all trials draws them.

    :param deployment: deploy the run as another method that trains as its own
        (``{"method": "finetune", "fields": {"finetune_timesteps": 8000}}``; ``None``: as trained)
    """
    spec = rundir.recorded_spec(run_dir)
    present = build_splits(spec)
    method = (
        get_method(deployment["method"])
        if deployment
        else TrainConfig.from_yaml(run_dir / "config.yaml").resolved_method()
    )
    splits = [
        s for s in settings["splits"] if s in present and not method.cannot_play(spec, present[s].tasks)
    ]
    config = eval_config(settings, splits, TRIAL_BOOTSTRAP_REPS, figures=False)
    if deployment:
        config = replace(config, deploy_as=deployment["method"], deployment=dict(deployment["fields"]))
    (eval_dir / MARKER_FILE).unlink(missing_ok=True)  # the evaluation it vouched for is replaced
    evaluate([run_dir], config, out=eval_dir)
    atomic_write_json(eval_dir / MARKER_FILE, {"settings": settings, **evaluated_run(run_dir, deployment)})
    return eval_dir / RESULTS_FILE


def spec_name(spec_id: str) -> str:
    """The spec's name in its id ``mtml/<name>-v<version>`` (the spec need not be registered:
    a benchmark may run spec files)."""
    return spec_id.removeprefix("mtml/").rsplit("-v", 1)[0]


def score_row(aggregate: Aggregate, methods: dict[str, str]) -> ScoreRow:
    """A :class:`ScoreRow` of the evaluation API's aggregate.

    :param aggregate: the aggregate
    :param methods: the method of every label (a run's label and method, from the results)
    """
    return ScoreRow(
        spec_name(aggregate.spec),
        methods.get(aggregate.label, aggregate.label),
        aggregate.split,
        aggregate.runs,
        aggregate.tasks,
        float(aggregate.mean_return),
        float(aggregate.iqm.point),
        float(aggregate.iqm.low),
        float(aggregate.iqm.high),
    )


def compare_trials(
    eval_dirs: Sequence[Path],
    report_dir: Path,
    settings: dict[str, Any],
    bootstrap_reps: int,
    *,
    figures: bool = True,
    notes: Sequence[str] = (),
) -> Comparison:
    """Merge the trials' evaluations into one report in ``report_dir`` (replaced whole).

    :param eval_dirs: the evaluation folders of the finished trials
    :param report_dir: where the report goes
    :param settings: the evaluation settings (their protocol must match the evaluations')
    :param bootstrap_reps: bootstrap replications of the report's intervals
    :param figures: draw the report's pictures
    :param notes: notes the report lists with its own (e.g. the grid's unsupported cells)
    """
    config = eval_config(settings, None, bootstrap_reps, figures=figures)
    results, folder = compare([str(d) for d in eval_dirs], config, out=report_dir, notes=notes)
    methods = label_methods(results)
    rows = [score_row(a, methods) for a in results.aggregates]
    success = [
        replace(a, spec=spec_name(a.spec), label=methods.get(a.label, a.label)) for a in results.success
    ]
    return Comparison(Path(folder), rows, list(results.notes), success)


def label_methods(results: Results) -> dict[str, str]:
    """The method each label of ``results`` reports (the oracle's label is not its name)."""
    return {r.label: r.method for r in results.runs}
