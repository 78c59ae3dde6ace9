"""Trials of a benchmark grid: planning them, deciding which are done, and running one.

A trial is one (spec, method, seed) training run in ``<out>/runs/<spec>-<method>-s<seed>/``
followed by its evaluation in ``<out>/eval/<spec>-<method>-s<seed>/``. A method that trains
as another (:attr:`~mtml_rl.training.method.Method.trains_as`: ``finetune`` as ``dr``) trains
no run of its own where the grid has a trial of that method with the same training config:
its trial deploys that trial's run as its own method once the run is trained, so that the two
methods' comparison is paired. The same holds for a method whose training is another's first
phase (:attr:`~mtml_rl.training.method.Method.first_phase`: ``oracle`` deploys ``adapt``'s
run, whose phase 1 is the oracle's training bit for bit), which is then not trained twice.
Every path is absolute, so that a worker on another machine (Ray) writes where the driver reads.
:func:`run_trial` is what a worker executes; it never raises for a failed trial but
returns the error, so one crash cannot take the others down.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch as th
import yaml

from mtml_rl.benchmark.config import BenchmarkConfig, EvalSettings, env_key
from mtml_rl.benchmark.evaluation import (
    MARKER_FILE,
    OTHER_RUN,
    OTHER_SETTINGS,
    evaluate_trial,
    evaluated_run,
    evaluation_is_current,
    evaluation_problem,
)
from mtml_rl.errors import CheckpointError, ConfigError, MtmlError, one_line_warnings
from mtml_rl.io import file_problem
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, is_file, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.builders import resolve_algo
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method
from mtml_rl.training.registry import get_method
from mtml_rl.training.rundir import MODEL_FILE, NORMALIZER_FILE
from mtml_rl.training.train import hyperparams_record, resume, train

FINISHED = "finished"
FAILED = "failed"
WORKER_LOCK_WAIT_S = 30.0
"""Seconds a worker waits for its trial's run folder while another process holds it (a worker
of a driver that was just killed takes a moment to die) before the trial fails."""


@dataclass(frozen=True)
class Trial:
    """One cell of the grid, with everything a worker needs (plain, picklable data).

    :param name: ``<spec>-<method>-s<seed>`` (the method's registered name)
    :param env: the spec id, or the absolute path of a spec file
    :param method: the method as the grid names it (a name or ``"pkg.module:object"``)
    :param seed: the training seed
    :param run_dir: absolute path of its run directory
    :param eval_dir: absolute path of its evaluation output
    :param config: the resolved :class:`TrainConfig` as plain data
    :param evaluation: the evaluation settings as plain data (``None``: no evaluation)
    :param steps: training steps (``config``'s timesteps, else the shipped default it resolves to)
    :param trained_by: the trial whose run this one deploys (``run_dir`` is that trial's), or
        ``None``: it trains its own
    :param run_config: that trial's config (the config the run is checked against)
    :param deployment: how this trial deploys that run (or its own, where its method has
        deployment fields): ``{"method": <registered name>, "fields": {<deployment field>:
        <value>}}``; ``None``: its own run, as trained
    :param retrain_changed: a finished run that is not this trial's any more (another config,
        other shipped hyperparameters, another spec) is trained again instead of refused
    """

    name: str
    env: str
    method: str
    seed: int
    run_dir: str
    eval_dir: str
    config: dict[str, Any]
    evaluation: dict[str, Any] | None
    steps: int = 0
    trained_by: str | None = None
    run_config: dict[str, Any] | None = None
    deployment: dict[str, Any] | None = None
    retrain_changed: bool = False

    @property
    def training_config(self) -> dict[str, Any]:
        """The config of the run the trial evaluates: its own, or that of the trial that trains it."""
        return self.config if self.run_config is None else self.run_config

    @property
    def evaluated(self) -> dict[str, Any]:
        """What its evaluation is of (:func:`~mtml_rl.benchmark.evaluation.evaluated_run`)."""
        return evaluated_run(self.run_dir, self.deployment)


@dataclass(frozen=True)
class TrialOutcome:
    """What running a trial gave.

    :param name: the trial's name
    :param status: ``finished`` or ``failed``
    :param trained: whether this attempt trained (``False``: a finished run was reused)
    :param error: ``"<Type>: <message>"`` of a failure
    :param traceback: the failure's formatted traceback
    :param wall_s: seconds the attempt took
    :param refused: the failure is mtml-rl's own error (a :class:`~mtml_rl.errors.MtmlError`:
        bad input or an artifact that does not verify, its message naming the fix), not a crash
    """

    name: str
    status: str
    trained: bool = False
    error: str | None = None
    traceback: str | None = None
    wall_s: float = 0.0
    refused: bool = False


@dataclass(frozen=True)
class UnsupportedCell:
    """An (env, method) cell of the grid that the method does not support, left out.

    :param env: the spec id (or spec file) as the grid names it
    :param method: the method as the grid names it
    :param reason: why, in the method's words (:meth:`~mtml_rl.training.method.Method.unsupported`)
    """

    env: str
    method: str
    reason: str

    @property
    def note(self) -> str:
        """One line for the benchmark's output and report."""
        return f"{self.method} on {self.env}: not run, the method does not support it ({self.reason})"


@dataclass(frozen=True)
class GridPlan:
    """The trials of a grid and the cells it leaves out.

    :param trials: every (env, method, seed) trial to run
    :param unsupported: the (env, method) cells whose method does not support the env
    """

    trials: list[Trial]
    unsupported: list[UnsupportedCell]


def plan_trials(config: BenchmarkConfig) -> list[Trial]:
    """Every (env, method, seed) trial of the grid, validated before anything runs
    (:func:`plan_grid`, without the unsupported cells)."""
    return plan_grid(config).trials


def plan_grid(config: BenchmarkConfig) -> GridPlan:
    """Every (env, method, seed) trial of the grid, validated before anything runs, and the
    (env, method) cells left out because the method does not support the env (``pearl``, SAC
    only, on a discrete-action family).

    Unknown envs or methods, methods a spec refuses (``oracle`` without privileged
    context) and bad TrainConfig fields raise here, with the fix; so does a grid whose every
    cell is unsupported.
    """
    trials: list[Trial] = []
    unsupported: list[UnsupportedCell] = []
    for env in config.envs:
        spec = resolve_spec(env)
        build_splits(spec)  # a split that cannot be drawn is refused here, before anything is written
        for method in config.methods:
            cell = _plan_cell(config, env, spec, method)
            if isinstance(cell, UnsupportedCell):
                unsupported.append(cell)
            else:
                trials.extend(cell)
    if not trials:
        raise ConfigError(
            "no trial to run: the grid's methods support none of its envs ("
            + "; ".join(c.note for c in unsupported)
            + "); add an env each method supports"
        )
    _check_unique(trials)
    return GridPlan(share_training(trials), unsupported)


def share_training(trials: list[Trial]) -> list[Trial]:
    """The trials, each made to deploy another trial's run of the same spec and seed instead
    of training its own where that run holds its training: its method trains as the other's
    (:attr:`~mtml_rl.training.method.Method.trains_as`: ``finetune`` deploys ``dr``'s run) or
    is the other's first phase (:attr:`~mtml_rl.training.method.Method.first_phase`:
    ``oracle`` deploys ``adapt``'s), with the same training config but for the fields that
    act only in deployment or after that first phase."""
    by_key = {(t.env, get_method(t.method).name, t.seed): t for t in trials}
    return [_deploying(t, by_key) for t in trials]


def _deploying(trial: Trial, by_key: dict[tuple[str, str, int], Trial]) -> Trial:
    """``trial`` deploying the run of a trial whose training holds its own, where there is one
    with its config."""
    method = get_method(trial.method)
    for source, later_fields in _run_sources(trial, method.name, method.trains_as, by_key):
        ignored = (*method.deployment_fields, *later_fields)
        as_trained = {
            **trial.config,
            "method": source.config["method"],
            "out": source.config["out"],
            **{name: source.config.get(name) for name in ignored},
        }
        if as_trained != source.config:
            continue  # trained otherwise (another budget, other hyperparameters)
        return replace(
            trial,
            run_dir=source.run_dir,
            trained_by=source.name,
            run_config=source.config,
            deployment=deployment_of(method, trial.config),
        )
    return trial


def deployment_of(method: Method, config: dict[str, Any]) -> dict[str, Any]:
    """A trial's deployment as its marker records it: ``method`` with the values ``config`` (a
    trial's config, as plain data) gives its deployment fields."""
    return {"method": method.name, "fields": {name: config.get(name) for name in method.deployment_fields}}


def _run_sources(
    trial: Trial, name: str, trains_as: str | None, by_key: dict[tuple[str, str, int], Trial]
) -> list[tuple[Trial, tuple[str, ...]]]:
    """The trials of ``trial``'s spec and seed whose runs could serve it, each with the fields
    its method reads only after the first phase: the trial of the method it trains as, then
    those of methods whose first phase it is (by name)."""
    sources: list[tuple[Trial, tuple[str, ...]]] = []
    if trains_as and (trial.env, trains_as, trial.seed) in by_key:
        sources.append((by_key[(trial.env, trains_as, trial.seed)], ()))
    for (env, other, seed), source in sorted(by_key.items()):
        other_method = get_method(other)
        if env == trial.env and seed == trial.seed and other_method.first_phase == name:
            sources.append((source, (*other_method.later_phase_fields, *other_method.deployment_fields)))
    return sources


def _plan_cell(
    config: BenchmarkConfig, env: str, spec: TaskSpec, method: str
) -> list[Trial] | UnsupportedCell:
    """The trials of one (env, method) cell, one per seed, or why the method does not support it."""
    out = config.out_dir
    evaluation = _eval_data(config.evaluation)
    env_id = str(Path(env).resolve()) if is_file(env) else env
    trials = []
    for seed in config.seeds:
        name = f"{spec.name}-{get_method(method).name}-s{seed}"
        train_config = trial_config(config, env, env_id, method, seed, out / "runs" / name)
        reason = train_config.resolved_method().unsupported(train_config, spec)
        if reason:
            return UnsupportedCell(env, method, reason)
        _algo, hyperparams = resolve_algo(train_config, spec)
        _check_episodes(config.evaluation, train_config)
        trials.append(
            Trial(
                name,
                env_id,
                method,
                seed,
                str(out / "runs" / name),
                str(out / "eval" / name),
                train_config.to_dict(),
                evaluation,
                train_config.timesteps or hyperparams.n_timesteps,
                deployment=_own_deployment(train_config),
            )
        )
    return trials


def _own_deployment(train_config: TrainConfig) -> dict[str, Any] | None:
    """How a trial deploys its own run: with the grid's values of its method's deployment
    fields, which its evaluation applies and its marker records, so that a change of one is
    evaluated again on the finished run, not trained again (``None``: a method without such
    fields, deployed as trained)."""
    method = train_config.resolved_method()
    return deployment_of(method, train_config.to_dict()) if method.deployment_fields else None


def _check_episodes(settings: EvalSettings, train_config: TrainConfig) -> None:
    """Evaluation plays whole trials: episodes must be a multiple of every method's trial length."""
    trial_len = train_config.trial_episodes or train_config.resolved_method().default_trial_episodes
    if settings.enabled and settings.episodes % trial_len:
        raise ConfigError(
            f"evaluation.episodes {settings.episodes} is not a multiple of the trial length {trial_len} "
            f"of method {train_config.method}; pass a multiple of it (e.g. {trial_len * 5})"
        )


def _eval_data(settings: EvalSettings) -> dict[str, Any] | None:
    if not settings.enabled:
        return None
    return {
        "splits": list(settings.splits),
        "episodes": settings.episodes,
        "seed": settings.seed,
        "deterministic": settings.deterministic,
    }


def trial_config(
    config: BenchmarkConfig, env: str, env_id: str, method: str, seed: int, run_dir: Path
) -> TrainConfig:
    """The trial's TrainConfig: ``train``, then the env's, the method's and the cell's
    overrides (``hyperparams`` merged key by key), then the grid's own fields."""
    values: dict[str, Any] = {}
    if config.timesteps is not None:
        values["timesteps"] = config.timesteps
    key = env_key(env)
    env_layer: dict[str, Any] = {}
    cell_layer: dict[str, Any] = {}
    for name, fields in config.env_overrides.items():
        if env_key(name) == key:
            env_layer.update(fields)
    for name, methods in config.cell_overrides.items():
        if env_key(name) == key:
            cell_layer.update(methods.get(method, {}))
    for layer in (config.train, env_layer, config.method_overrides.get(method, {}), cell_layer):
        for field_name, value in layer.items():
            if field_name == "hyperparams" and isinstance(value, dict):
                values["hyperparams"] = {**values.get("hyperparams", {}), **value}
            else:
                values[field_name] = value
    values.update(
        env=env_id, method=method, seed=seed, out=str(run_dir), num_threads=config.threads_per_worker
    )
    where = f"trial {method} s{seed} on {env}"
    try:
        return TrainConfig.from_dict(values, source=where)
    except ConfigError as exc:  # a value the config refuses: say which trial's layers gave it
        message = str(exc)
        raise ConfigError(message if message.startswith(where) else f"{where}: {message}") from None


def _check_unique(trials: list[Trial]) -> None:
    """Refuse two trials of one folder name, in any case: on a file system that ignores case
    (macOS's and Windows' by default) ``PointNav-dr-s0`` and ``pointnav-dr-s0`` are one run
    folder, and the second trial would take the first one's run as its own."""
    seen: dict[str, Trial] = {}
    for trial in trials:
        other = seen.setdefault(trial.name.casefold(), trial)
        if other.name == trial.name and other.env == trial.env:
            continue
        if other.name == trial.name:
            raise ConfigError(
                f"envs {other.env} and {trial.env} share the spec name of trial {trial.name}; "
                "give one spec another name"
            )
        raise ConfigError(
            f"trials {other.name} and {trial.name} differ only in case, and would share one run "
            "folder on a file system that ignores case (macOS's and Windows' by default); give "
            "one spec (its name:) or method another name"
        )


def read_json_or_none(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def claims_finished(trial: Trial) -> bool:
    """Whether the trial's ``run.json`` says its run finished (verified or not)."""
    status = read_json_or_none(Path(trial.run_dir) / "run.json")
    return isinstance(status, dict) and status.get("status") == FINISHED


def final_problem(run_dir: Path) -> str | None:
    """What is wrong with a finished run's ``final/`` folder (``None``: it verifies).

    ``final/``'s manifest must verify (:func:`mtml_rl.training.rundir.checkpoint_problem`),
    ``final/model.zip`` must be there, and ``final/vecnormalize.pkl`` where the run normalized
    observations; every file in ``final/`` must be whole for its type (see
    :func:`mtml_rl.io.file_problem`).
    """
    final = run_dir / "final"
    if final.is_dir():
        problem = rundir.checkpoint_problem(final)
        if problem is not None:
            return f"final/{problem}"
    required = [final / MODEL_FILE]
    if _normalizes(run_dir):
        required.append(final / NORMALIZER_FILE)
    present = sorted(final.iterdir()) if final.is_dir() else []
    for path in dict.fromkeys([*required, *present]):
        problem = file_problem(path)
        if problem is not None:
            return f"final/{problem}"
    return None


def config_problem(run_dir: Path) -> str | None:
    """What is wrong with a run's ``config.yaml``, read strictly (``None``: nothing); a
    truncated one must not pass for a config of defaults."""
    try:
        TrainConfig.from_run(run_dir / "config.yaml")
    except ConfigError as exc:
        return str(exc)
    return None


def fields_not_read(config: dict[str, Any]) -> set[str]:
    """The config fields only some methods read
    (:data:`~mtml_rl.training.config.PER_METHOD_FIELDS`) that the method of ``config`` (a
    trial's training config, as plain data) does not read
    (:meth:`~mtml_rl.training.method.Method.fields_read`; none for a method that does not say)."""
    train_config = TrainConfig.from_dict(dict(config), source="trial config")
    return set(train_config.resolved_method().fields_not_read(train_config))


def _normalizes(run_dir: Path) -> bool:
    """Whether the run's recorded hyperparameters normalize observations."""
    try:
        data = yaml.safe_load((run_dir / "hyperparams.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError, RecursionError):
        return False
    return isinstance(data, dict) and bool(data.get("normalize"))


def run_finished(trial: Trial) -> bool:
    """Whether the trial's run directory holds a finished run of exactly its config, whose
    final model verifies (:func:`final_problem`).

    A finished run with a different config, or of a spec whose tasks changed since, is an
    error, reusing it would mix budgets or tasks, unless the trial retrains changed runs
    (:attr:`Trial.retrain_changed`: then it is not finished). The run's recorded ``out`` is not compared:
    a grid folder moved or copied elsewhere goes on where it is; nor are the fields only other
    methods read (:func:`fields_not_read`): a grid's ``adapt_timesteps`` reaches every trial's
    config, and a change of it leaves the ``dr`` trial's run what it is.
    """
    if not claims_finished(trial):
        return False
    path = Path(trial.run_dir)
    if config_problem(path) is not None:
        return False
    recorded = TrainConfig.from_run(path / "config.yaml").to_dict()
    expected = trial.training_config
    deployment_only = set(get_method(str(expected["method"])).deployment_fields)  # the evaluation's
    keys = (set(recorded) | set(expected)) - {"out"} - fields_not_read(expected) - deployment_only
    changed = sorted(k for k in keys if recorded.get(k) != expected.get(k))
    if changed:
        return _changed_run(
            trial,
            f"{path} holds a finished run whose config differs from this benchmark's in {', '.join(changed)}",
        )
    return _same_tasks(path, trial) and _same_hyperparams(path, trial) and final_problem(path) is None


RETRAIN_CHANGED = (
    "use another --out, or pass --retrain-changed to train again each trial whose run differs (the "
    "others are kept)"
)
"""How to go on from a finished run that is not its trial's any more."""


def _changed_run(trial: Trial, what: str) -> bool:
    """``False`` (the trial's run is to be trained again) where the trial retrains changed runs;
    else a :class:`ConfigError` saying ``what`` changed and how to go on."""
    if trial.retrain_changed:
        return False
    raise ConfigError(f"{what}; {RETRAIN_CHANGED}")


def changed_hyperparams(path: Path, trial: Trial) -> list[str] | None:
    """The hyperparameters the run in ``path`` recorded that differ from what the trial's
    config resolves to now (``None``: the run has no readable record of them).

    A grid's trial names its overrides, not the shipped defaults under them: when a default
    changes, the same config trains something else. A budget the config names is compared
    with the run's ``config.yaml`` (:func:`run_finished`), not here: a run extended by
    ``mtml-rl train --resume RUN --timesteps N`` before its ``hyperparams.yaml`` followed its
    config still names the old budget there.
    """
    config = TrainConfig.from_dict(dict(trial.training_config), source=trial.name)
    _, hp = resolve_algo(config, resolve_spec(trial.env))
    changes = rundir.changed_hyperparams(
        path, hyperparams_record(config, hp), compare_budget=config.timesteps is None
    )
    return None if changes is None else [change.name for change in changes]


def _same_hyperparams(path: Path, trial: Trial) -> bool:
    """Whether the finished run in ``path`` was trained with the hyperparameters the trial's
    config resolves to now (``False`` for a run without their record: it is trained again)."""
    changed = changed_hyperparams(path, trial)
    if changed is None:
        return False
    if changed:
        return _changed_run(
            trial,
            f"{path} holds a finished run trained with other hyperparameters than this benchmark's "
            f"config resolves to now ({', '.join(changed)}; the shipped defaults changed since)",
        )
    return True


def _same_tasks(path: Path, trial: Trial) -> bool:
    """Whether the finished run in ``path`` was trained on the tasks the trial's spec defines
    now (``False`` for a run without its spec record: it is trained again)."""
    try:
        trained = rundir.recorded_spec_hash(path)
    except CheckpointError:
        return False
    if trained != resolve_spec(trial.env).content_hash():
        return _changed_run(
            trial,
            f"{path} holds a finished run of other tasks: its spec {trial.env} changed since "
            f"(hash {trained} then)",
        )
    return True


def trial_done(trial: Trial) -> bool:
    """Whether the trial is trained and (if asked) evaluated with the current settings, and
    both verify."""
    if not run_finished(trial):
        return False
    return trial.evaluation is None or evaluation_is_current(
        Path(trial.eval_dir), trial.evaluation, trial.evaluated
    )


def damage(trial: Trial) -> str | None:
    """Why a trial whose files say it is done is not (``None``: it is done, or never was):
    the run or evaluation to redo and what is wrong with it."""
    if not claims_finished(trial):
        return None
    problem = config_problem(Path(trial.run_dir)) or final_problem(Path(trial.run_dir))
    if problem is not None and trial.trained_by is None:  # else the trial that trains it says so
        return f"its run does not verify ({problem}); retraining it"
    if trial.evaluation is not None and (Path(trial.eval_dir) / MARKER_FILE).is_file():
        problem = evaluation_problem(Path(trial.eval_dir), trial.evaluation, trial.evaluated)
        if problem not in (None, OTHER_SETTINGS, OTHER_RUN):
            return f"its evaluation does not verify ({problem}); evaluating it again"
    return None


def run_trial(trial: Trial) -> TrialOutcome:
    """Train the trial unless its run is finished and verifies, then evaluate it unless that is
    current and verifies.

    Runs in a worker process (local pool or Ray task) holding the lock of the trial's run
    folder, so that a worker of an earlier driver that is still alive is never raced.
    Failures are returned, not raised; an :class:`~mtml_rl.errors.MtmlWarning` is shown as
    ``TRIAL: warning: ...``.
    """
    start = time.monotonic()
    trained = False
    try:
        th.set_num_threads(int(trial.config["num_threads"]))
        with one_line_warnings(trial.name), lock_folder(trial.run_dir, wait_s=WORKER_LOCK_WAIT_S):
            trained = _train_and_evaluate(trial)
    except Exception as exc:
        return TrialOutcome(
            trial.name,
            FAILED,
            trained,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            time.monotonic() - start,
            refused=isinstance(exc, MtmlError),
        )
    return TrialOutcome(trial.name, FINISHED, trained, wall_s=time.monotonic() - start)


def _train_or_resume(trial: Trial) -> None:
    """Train the trial's run, going on from where an interrupted attempt stopped.

    An earlier attempt of exactly this trial (same config, same tasks) that was stopped
    mid-run (a killed worker or driver, a machine that went down) resumes from its newest
    saved model that verifies, as ``mtml-rl train --resume`` does; anything else (no such
    attempt, another config, nothing that verifies) is trained from the start.
    """
    command = f"mtml-rl benchmark (trial {trial.name})"
    if _interrupted_attempt(trial):
        try:
            resume(trial.run_dir, progress=False, command=command)
            return
        except (CheckpointError, ConfigError) as exc:
            print(
                f"{trial.name}: cannot go on from its interrupted run ({exc}); training it again",
                file=sys.stderr,
            )
    config = TrainConfig.from_dict(dict(trial.config), source=trial.name)
    shutil.rmtree(trial.run_dir, ignore_errors=True)  # the grid's own folder, leftovers of any attempt
    train(config, force=True, progress=False, command=command)


def _interrupted_attempt(trial: Trial) -> bool:
    """Whether the trial's run folder holds an unfinished run of exactly its config, tasks and
    resolved hyperparameters."""
    path = Path(trial.run_dir)
    if claims_finished(trial) or not rundir.is_run_dir(path) or config_problem(path) is not None:
        return False
    if TrainConfig.from_run(path / "config.yaml").to_dict() != dict(trial.training_config):
        return False
    try:
        same_tasks = rundir.recorded_spec_hash(path) == resolve_spec(trial.env).content_hash()
    except CheckpointError:
        return False
    return same_tasks and changed_hyperparams(path, trial) == []


def _train_and_evaluate(trial: Trial) -> bool:
    """What :func:`run_trial` does under the lock; returns whether it trained."""
    trained = False
    if not run_finished(trial):
        shutil.rmtree(trial.eval_dir, ignore_errors=True)
        if trial.trained_by is not None:
            raise CheckpointError(
                f"the run it deploys, {trial.run_dir}, is not a finished run that verifies; its trial "
                f"{trial.trained_by} trains it: run the grid again once that trial has finished"
            )
        _train_or_resume(trial)
        trained = True
    if trial.evaluation is not None and not evaluation_is_current(
        Path(trial.eval_dir), trial.evaluation, trial.evaluated
    ):
        shutil.rmtree(trial.eval_dir, ignore_errors=True)  # a damaged or outdated one is replaced
        evaluate_trial(Path(trial.run_dir), Path(trial.eval_dir), trial.evaluation, trial.deployment)
    return trained
