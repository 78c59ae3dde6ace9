"""The run directory: its layout, metadata and checkpoints.

::

    <run>/
      config.yaml        resolved TrainConfig
      command.txt        the command line that started (and resumed) the run
      spec.yaml          the task-distribution spec the run uses (its own copy)
      splits.json        split hashes and task lists
      versions.json      package versions
      hyperparams.yaml   resolved algorithm hyperparameters
      logs/              progress.csv and TensorBoard events
      checkpoints/step_<N>/   model.zip, vecnormalize.pkl, scheduler.pkl, replay_buffer.pkl, meta.json
      best/              the best model by periodic evaluation on training tasks
      final/             the final model
      run.json           status, steps done

Every file is written atomically; a checkpoint folder appears whole or not at all.
"""

from __future__ import annotations

import json
import pickle
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.errors import CheckpointError, SpecError
from mtml_rl.faults import fault_point
from mtml_rl.io import atomic_dir, atomic_write_json, atomic_write_text, atomic_write_yaml
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, parse_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training.config import TrainConfig

MODEL_FILE = "model.zip"
NORMALIZER_FILE = "vecnormalize.pkl"
SCHEDULER_FILE = "scheduler.pkl"
REPLAY_FILE = "replay_buffer.pkl"
META_FILE = "meta.json"
SPEC_FILE = "spec.yaml"
VERSIONED_PACKAGES = ("mtml-rl", "gymnasium", "stable-baselines3", "torch", "numpy", "sb3-contrib")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run (has a ``config.yaml``)."""
    return (path / "config.yaml").is_file()


@contextmanager
def lock_enclosing_run(target: str | Path) -> Iterator[None]:
    """Hold the lock of the run folder ``target`` lies in, if it lies in one (an evaluation
    written into a run is one more writer of that run: a ``--force`` would delete it)."""
    parent = Path(target).expanduser().absolute().parent
    if not is_run_dir(parent):
        yield
        return
    with lock_folder(parent):
        yield


def write_metadata(
    path: Path, config: TrainConfig, spec: TaskSpec, hyperparams: dict[str, Any], command: str
) -> None:
    """Write the run's config, command, spec snapshot, split hashes, versions and hyperparameters."""
    splits = build_splits(spec)
    atomic_write_yaml(path / "config.yaml", config.to_dict())
    atomic_write_text(path / "command.txt", command + "\n")
    atomic_write_yaml(path / SPEC_FILE, spec.to_dict())
    atomic_write_json(
        path / "splits.json",
        {
            "spec_hash": spec.content_hash(),
            "hashes": splits.hashes(),
            "tasks": {name: [t.to_json_dict() for t in split.tasks] for name, split in splits.items()},
        },
    )
    atomic_write_json(path / "versions.json", package_versions())
    atomic_write_yaml(path / "hyperparams.yaml", hyperparams)


def append_command(path: Path, command: str) -> None:
    """Record a resume's command line after the original one."""
    previous = (path / "command.txt").read_text() if (path / "command.txt").exists() else ""
    atomic_write_text(path / "command.txt", previous + command + "\n")


def recorded_spec_hash(path: Path) -> str:
    """The spec hash a run was trained with."""
    try:
        return str(json.loads((path / "splits.json").read_text())["spec_hash"])
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{path}: splits.json is missing or corrupt ({exc}); this is not a whole run"
        ) from None


def recorded_spec(path: Path) -> TaskSpec:
    """The spec the run recorded in ``spec.yaml`` (what it loads, resumes and evaluates with)."""
    file = path / SPEC_FILE
    try:
        data = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointError(f"{file} is missing or corrupt ({exc}); this is not a whole run") from None
    try:
        return parse_spec(data, source=str(file))
    except SpecError as exc:
        raise CheckpointError(f"{file} is not a valid spec any more: {exc}") from None


def write_status(path: Path, status: str, steps: int) -> None:
    """Record the run's status (``running``, ``finished``, ``failed``) and step count."""
    atomic_write_json(path / "run.json", {"status": status, "steps": steps})


@dataclass(frozen=True)
class Checkpoint:
    """One saved state of training."""

    path: Path
    steps: int


def save_checkpoint(
    target: Path,
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    scheduler_state: Any,
    *,
    replay: bool,
    point: str = "checkpoint",
) -> None:
    """Save a model (+ normalization stats, scheduler RNG state, replay buffer) atomically.

    :param point: the fault-injection point inside the save (see :mod:`mtml_rl.faults`)
    """
    with atomic_dir(target) as tmp:
        model.save(tmp / MODEL_FILE)
        fault_point(point)
        if normalizer is not None:
            normalizer.save(str(tmp / NORMALIZER_FILE))
        with open(tmp / SCHEDULER_FILE, "wb") as handle:
            pickle.dump(scheduler_state, handle)
        if replay and isinstance(model, OffPolicyAlgorithm):
            model.save_replay_buffer(tmp / REPLAY_FILE)
        atomic_write_json(tmp / META_FILE, {"steps": int(model.num_timesteps)})


def list_checkpoints(path: Path) -> list[Checkpoint]:
    """Complete checkpoints of a run, oldest first."""
    found = []
    for folder in (path / "checkpoints").glob("step_*"):
        try:
            steps = int(json.loads((folder / META_FILE).read_text())["steps"])
        except (OSError, ValueError, KeyError):
            continue
        found.append(Checkpoint(folder, steps))
    return sorted(found, key=lambda c: c.steps)


def latest_checkpoint(path: Path) -> Checkpoint:
    """The newest complete checkpoint; a clear error if there is none or it is damaged."""
    checkpoints = list_checkpoints(path)
    if not checkpoints:
        raise CheckpointError(
            f"{path} has no complete checkpoint under checkpoints/; "
            "it cannot be resumed (train again with --force)"
        )
    latest = checkpoints[-1]
    if not (latest.path / MODEL_FILE).is_file():
        raise CheckpointError(
            f"checkpoint {latest.path} has no {MODEL_FILE}; delete it to resume from an older one"
        )
    return latest
