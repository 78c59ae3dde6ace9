"""Opening runs for evaluation: every check that can refuse a run happens here, up front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.agents.loading import load_agent
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.evaluation.results import RunRecord
from mtml_rl.rollouts import Agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.config import PER_METHOD_FIELDS
from mtml_rl.training.run import Run


@dataclass
class LoadedRun:
    """A run ready to evaluate: the run, its deployed agent and its record.

    :param run: the loaded run
    :param agent: the agent that deploys it (context withheld unless it is the oracle)
    :param record: what results say about it
    """

    run: Run
    agent: Agent
    record: RunRecord


def open_run(
    path: str | Path,
    run_id: str,
    trial: int | None = None,
    *,
    deploy_as: str | None = None,
    deployment: Mapping[str, Any] | None = None,
) -> LoadedRun:
    """Load a run and its agent; a clear :class:`CheckpointError` if it cannot be evaluated.

    Refuses a missing or corrupt run directory, a spec that changed since training (its hash)
    and splits that differ from those the run recorded (their hashes).

    :param path: the run directory
    :param run_id: its id in the results
    :param trial: episodes per trial (default: the run's own trial length)
    :param deploy_as: deploy it as this method, one that trains as the run's own
        (:meth:`~mtml_rl.training.run.Run.deployed_as`; ``None``: as trained)
    :param deployment: values of that method's deployment fields
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"run directory {path} does not exist")
    if not path.is_dir() or not rundir.is_run_dir(path):
        raise CheckpointError(f"{path} is not a run directory (no config.yaml); pass a folder made by train")
    try:
        run = Run.load(path)  # checks the spec hash, loads model and normalizer
    except ConfigError as exc:  # config.yaml unreadable or invalid
        raise CheckpointError(f"{path} cannot be loaded: {' '.join(str(exc).split())}") from None
    trained_as = run.method.name
    if deploy_as is not None or deployment:
        run = run.deployed_as(deploy_as or trained_as, **dict(deployment or {}))
    hashes = check_split_hashes(run)
    agent = load_agent(run)
    k = trial if trial is not None else int(getattr(agent, "trial_episodes", run.trial_episodes))
    record = RunRecord(
        id=run_id,
        path=str(path.resolve()),
        label=run.method.report_label,
        method=run.method.name,
        algo=run.config.algo,
        seed=run.config.seed,
        spec=run.spec.id,
        spec_hash=run.spec.content_hash(),
        split_hashes=hashes,
        privileged=bool(agent.privileged),
        trial_episodes=k,
        steps=int(run.model.num_timesteps),
        cpu_kernels=rundir.recorded_kernels(path),
        trained_as=trained_as if trained_as != run.method.name else None,
        deployment=deployment_of(run),
        test_task_steps=run.method.test_task_steps(run.config, run.spec),
        training=training_settings(run),
    )
    return LoadedRun(run, agent, record)


NOT_TRAINING_SETTINGS = frozenset({"n_timesteps"})
"""Recorded hyperparameters that are not what a setting is (the budget: the run's steps)."""


def training_settings(run: Run) -> dict[str, Any] | None:
    """What ``run`` was trained with besides its seed, budget and algorithm, as a report
    compares runs pooled as seeds: the hyperparameters it recorded (its family's shipped
    ones under its profile and overrides) and the per-method settings its deployed method
    reads, deployment fields excepted (``None``: the run's record of its hyperparameters is
    missing or does not read)."""
    recorded = rundir.recorded_hyperparams(run.path)
    if recorded is None:
        return None
    method = run.method
    skipped = {*method.fields_not_read(run.config), *method.deployment_fields}
    config = run.config.to_dict()
    settings = {name: config[name] for name in PER_METHOD_FIELDS if name not in skipped}
    hyperparams = {k: v for k, v in recorded.items() if k not in NOT_TRAINING_SETTINGS}
    return {**settings, **hyperparams}


def deployment_of(run: Run) -> dict[str, Any] | None:
    """The values of ``run``'s method's deployment fields (``None``: the method has none)."""
    fields = run.method.deployment_fields
    return {name: getattr(run.config, name) for name in fields} if fields else None


def check_split_hashes(run: Run) -> dict[str, str]:
    """The splits' hashes, checked against those the run recorded in ``splits.json``."""
    _, recorded = rundir.recorded_splits(run.path)
    current = build_splits(run.spec).hashes()
    for name in sorted(set(recorded) | set(current)):
        if recorded.get(name) != current.get(name):
            raise CheckpointError(
                f"{run.path}: split {name!r} of {run.spec.id} has hash {current.get(name)} now but "
                f"{recorded.get(name)} when the run was trained, so its tasks differ; evaluate with the "
                "code and spec the run was trained with, or train a new run"
            )
    return current
