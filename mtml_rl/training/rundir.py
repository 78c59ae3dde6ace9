"""The run directory: its layout, metadata and checkpoints.

::

    <run>/
      config.yaml        resolved TrainConfig
      command.txt        the command line that started (and resumed) the run
      spec.yaml          the task-distribution spec the run uses (its own copy)
      splits.json        split hashes and task lists
      versions.json      package versions and the CPU kernels torch uses
      hyperparams.yaml   resolved algorithm hyperparameters
      logs/              progress.csv and TensorBoard events
      checkpoints/step_<N>/   model.zip, vecnormalize.pkl, scheduler.pkl, replay_buffer.pkl (the
                              newest checkpoint only), meta.json, manifest.json (size and SHA-256
                              of each file, written last)
      checkpoints/post_train/ the method's post-training progress (adapt: phase 2), if any
      checkpoints/final_<N>/  an earlier final model of step N, kept when a resume went past it
      best/              the best model by periodic evaluation on training tasks
      final/             the final model
      run.json           status, steps done

Every file is written atomically; a checkpoint folder appears whole or not at all, and is
loaded only once its manifest verifies. One process writes a run at a time (its lock).
"""

from __future__ import annotations

import json
import operator
import os
import pickle
import platform
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.errors import CheckpointError, ConfigError, SpecError
from mtml_rl.faults import fault_point
from mtml_rl.io import (
    InputFileError,
    atomic_dir,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    atomic_write_yaml,
    lists_file,
    manifest_problem,
    read_manifest,
    restore_replaced_in,
    unlist_file,
    write_manifest,
)
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, parse_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training.config import TrainConfig, with_fields_added_since

MODEL_FILE = "model.zip"
NORMALIZER_FILE = "vecnormalize.pkl"
SCHEDULER_FILE = "scheduler.pkl"
REPLAY_FILE = "replay_buffer.pkl"
STEP_PREFIX = "step_"
"""``checkpoints/step_<N>``: the periodic checkpoint of step ``N``."""
META_FILE = "meta.json"
SPEC_FILE = "spec.yaml"
SPLITS_FILE = "splits.json"
"""The run's record of its spec's hash, its splits' hashes and their tasks."""
VERSIONED_PACKAGES = ("mtml-rl", "gymnasium", "stable-baselines3", "torch", "numpy", "sb3-contrib")


ONEDNN_ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def cpu_kernels() -> dict[str, str]:
    """The instruction sets torch's CPU kernels are chosen by: ATen's capability (the widest
    vector instructions of this CPU that torch dispatches to, e.g. ``AVX512``) and the cap set
    on oneDNN's (``ONEDNN_MAX_CPU_ISA``, ``default`` when unset: the CPU's widest).

    oneDNN runs torch's CPU convolutions and LSTMs and picks its kernels by instruction set,
    and kernels of different width sum in different orders: a run with the convolutional
    history encoder or ``rl2``'s LSTM repeats bit for bit on one machine, not between an
    AVX-512 and an AVX2 CPU (or an AVX-512 CPU with and without ``ONEDNN_MAX_CPU_ISA=AVX2``).
    """
    cap = next((os.environ[name] for name in ONEDNN_ISA_VARIABLES if os.environ.get(name)), "default")
    return {"torch_cpu_capability": str(th.backends.cpu.get_cpu_capability()), "onednn_max_cpu_isa": cap}


def describe_kernels(kernels: dict[str, str]) -> str:
    """:func:`cpu_kernels` (or a run's record of them) in words, e.g. ``AVX512, oneDNN cap default``."""
    return f"{kernels['torch_cpu_capability']}, oneDNN cap {kernels['onednn_max_cpu_isa']}"


def recorded_kernels(path: Path) -> str | None:
    """The CPU kernels a run was trained with, as its ``versions.json`` recorded them
    (:func:`describe_kernels`); ``None`` for a run written before they were recorded, or
    whose file is unreadable (the record is informative: nothing is refused for it)."""
    try:
        return describe_kernels(json.loads((path / "versions.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on, and :func:`cpu_kernels`."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out | cpu_kernels()


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run (has a ``config.yaml``)."""
    return (path / "config.yaml").is_file()


RUN_MARKERS = ("config.yaml", "run.json", "spec.yaml")
"""Files every run folder has from its start: a folder with all three is taken for a run when
it encloses another path (a project's own ``config.yaml`` alone is not a run)."""


RUN_ENTRIES = frozenset(
    {
        "config.yaml",
        "command.txt",
        SPEC_FILE,
        SPLITS_FILE,
        "versions.json",
        "hyperparams.yaml",
        "logs",
        "checkpoints",
        "best",
        "final",
        "run.json",
    }
)
"""What a run writes at the top of its folder (besides the hidden temporaries of its atomic
writes, ``.<entry>.*``)."""
EVALUATION_DIR = "evaluation"
"""Where ``mtml-rl evaluate RUN`` writes the run's evaluation by default (``evaluation-<method>``
deployed as another method): part of the run, replaced with it."""


def evaluation_dir(path: Path, deploy_as: str | None = None) -> Path:
    """The default evaluation folder of the run in ``path`` (deployed as ``deploy_as``)."""
    return path / (EVALUATION_DIR if deploy_as is None else f"{EVALUATION_DIR}-{deploy_as}")


def _written_for_the_run(name: str) -> bool:
    """Whether a top-level entry of a run folder is the run's own: written by training, a
    default evaluation folder, or a hidden temporary of either."""
    own = name in RUN_ENTRIES or name == EVALUATION_DIR or name.startswith(f"{EVALUATION_DIR}-")
    return own or any(name.startswith(f".{e}.") for e in (*RUN_ENTRIES, EVALUATION_DIR))


def foreign_entries(path: Path) -> list[str]:
    """The names at the top of the run folder ``path`` that neither the run nor its default
    evaluations wrote (an evaluation written elsewhere in it, a user's notes): replacing the
    run would delete them."""
    return sorted(entry.name for entry in path.iterdir() if not _written_for_the_run(entry.name))


def enclosing_run(path: str | Path) -> Path | None:
    """The run folder that ``path`` lies inside (not ``path`` itself; links resolved), if any."""
    for folder in Path(path).expanduser().resolve().parents:
        if all((folder / name).is_file() for name in RUN_MARKERS):
            return folder
    return None


def refuse_inside_a_run(path: str | Path, what: str, flag: str) -> None:
    """A :class:`ConfigError` if ``path``, where ``what`` is to be made, lies inside a run
    folder: replacing that run (``--force``) or deleting it would take ``path`` with it."""
    run = enclosing_run(path)
    if run is not None:
        raise ConfigError(
            f"{path} lies inside the run {run}, which would take {what} with it when replaced or "
            f"deleted; choose {flag} outside it"
        )


@contextmanager
def lock_enclosing_run(target: str | Path) -> Iterator[None]:
    """Hold the lock of the run folder ``target`` lies in, if it lies in one, at any depth (an
    evaluation written into a run is one more writer of that run: a ``--force`` would delete it)."""
    parent = Path(target).expanduser().resolve().parent  # through links: the real enclosing folder
    run = parent if is_run_dir(parent) else enclosing_run(target)
    if run is None:
        yield
        return
    with lock_folder(run):
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
        path / SPLITS_FILE,
        {
            "spec_hash": spec.content_hash(),
            "hashes": splits.hashes(),
            "tasks": {name: [t.to_json_dict() for t in split.tasks] for name, split in splits.items()},
        },
    )
    atomic_write_json(path / "versions.json", package_versions())
    atomic_write_yaml(path / "hyperparams.yaml", hyperparams)


def record_budget(path: Path, timesteps: int | None) -> None:
    """Make the run's ``hyperparams.yaml`` name the budget its ``config.yaml`` asks for.

    ``mtml-rl train --resume RUN --timesteps N`` records ``N`` in ``config.yaml``; the resolved
    hyperparameters' ``n_timesteps`` must follow, or a grid asking for ``N`` would take the run
    for one trained with other hyperparameters. Also repairs a run extended before its record
    was kept in step. A record that does not read is left as it is (a grid trains such a run
    again rather than trust it).

    :param path: the run directory
    :param timesteps: the budget the run's config asks for (``None``: its family's shipped one,
        which the record already names)
    """
    file = path / "hyperparams.yaml"
    if timesteps is None:
        return
    try:
        recorded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError, RecursionError):
        return
    if isinstance(recorded, dict) and recorded.get("n_timesteps") != timesteps:
        atomic_write_yaml(file, {**recorded, "n_timesteps": timesteps})


@dataclass(frozen=True)
class SettingChange:
    """A setting a run recorded (a hyperparameter in ``hyperparams.yaml``, a later-phase field
    beside phase 2's progress or module) that its config gives otherwise now."""

    name: str
    recorded: Any
    now: Any

    def __str__(self) -> str:
        return f"{self.name} {self.recorded!r} then, {self.now!r} now"


def setting_changes(
    recorded: Mapping[str, Any],
    now: Mapping[str, Any],
    same: Callable[[Any, Any], bool] = operator.eq,
    ignore: frozenset[str] = frozenset(),
) -> list[SettingChange]:
    """The names in either mapping, ``ignore`` left out, whose values differ by ``same``, in
    name order (``now`` as its record would read back: :func:`as_json_record`)."""
    return [
        SettingChange(k, recorded.get(k), now.get(k))
        for k in sorted((set(recorded) | set(now)) - ignore)
        if not same(recorded.get(k), now.get(k))
    ]


LEGACY_SCHEDULE_RECORD = "linear_schedule.<locals>.schedule"
"""How earlier runs recorded every ``lin_<x>`` schedule in ``hyperparams.yaml``: without its start."""


def recorded_hyperparams(path: Path) -> dict[str, Any] | None:
    """The hyperparameters the run in ``path`` recorded (``hyperparams.yaml``; ``None``: it is
    missing or does not read as a mapping)."""
    try:
        recorded = yaml.safe_load((path / "hyperparams.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError, RecursionError):
        return None
    return recorded if isinstance(recorded, dict) else None


def changed_hyperparams(
    path: Path, resolved: dict[str, Any], *, compare_budget: bool
) -> list[SettingChange] | None:
    """The hyperparameters the run in ``path`` recorded that differ from ``resolved`` (what
    its config resolves to now, as a run records it), by name (``None``: the run has no
    readable record of them).

    :param compare_budget: compare ``n_timesteps`` too (a config that names its budget
        decides it there, and a resume records a new one)
    """
    recorded = recorded_hyperparams(path)
    if recorded is None:
        return None
    ignore = frozenset() if compare_budget else frozenset({"n_timesteps"})
    return setting_changes(recorded, yaml.safe_load(yaml.safe_dump(resolved)), _same_record, ignore)


def _same_record(recorded: Any, expected: Any) -> bool:
    """Whether a recorded hyperparameter is the expected one; a schedule recorded as
    :data:`LEGACY_SCHEDULE_RECORD` passes for any ``lin_<x>`` (its start was not recorded; the
    run's ``config.yaml`` still pins the values a grid overrides)."""
    if recorded == LEGACY_SCHEDULE_RECORD:
        return isinstance(expected, str) and expected.startswith("lin_")
    return bool(recorded == expected)


def append_command(path: Path, command: str) -> None:
    """Record a resume's command line after the original one (the file's bytes kept as they
    are: a record garbled since is not a reason to stop a resume, nor to rewrite it)."""
    file = path / "command.txt"
    previous = file.read_bytes() if file.is_file() else b""
    atomic_write_bytes(file, previous + command.encode() + b"\n")


def recorded_splits(path: Path) -> tuple[str, dict[str, str]]:
    """The spec hash and the split hashes (by split name) a run recorded in ``splits.json``;
    a :class:`CheckpointError` if the file is missing or is not such a record."""
    file = path / SPLITS_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{file} is missing or corrupt ({exc}); this is not a whole run") from None
    spec_hash = data.get("spec_hash") if isinstance(data, dict) else None
    hashes = data.get("hashes") if isinstance(data, dict) else None
    if (
        not isinstance(spec_hash, str)
        or not isinstance(hashes, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in hashes.items())
    ):
        raise CheckpointError(
            f"{file} is corrupt (not a record of the spec's and the splits' hashes); this is not a whole run"
        )
    return spec_hash, hashes


def recorded_spec_hash(path: Path) -> str:
    """The spec hash a run was trained with (:func:`recorded_splits`)."""
    return recorded_splits(path)[0]


def recorded_spec(path: Path) -> TaskSpec:
    """The spec the run recorded in ``spec.yaml`` (what it loads, resumes and evaluates with)."""
    file = path / SPEC_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError, RecursionError) as exc:  # ValueError: not UTF-8
        raise CheckpointError(f"{file} is missing or corrupt ({exc}); this is not a whole run") from None
    try:
        return parse_spec(data, source=str(file))
    except SpecError as exc:
        raise CheckpointError(f"{file} is not a valid spec any more: {exc}") from None


def write_status(path: Path, status: str, steps: int) -> None:
    """Record the run's status (``running``, ``finished``, ``failed``) and step count."""
    atomic_write_json(path / "run.json", {"status": status, "steps": steps})


def read_status(path: Path) -> str | None:
    """The status ``run.json`` records (``None``: missing or unreadable)."""
    try:
        data = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, str) else None


# --------------------------------------------------------------------------------------------
# checkpoints: model folders with a meta record and a manifest
# --------------------------------------------------------------------------------------------
MODEL_FIELDS = (
    "method",
    "algo",
    "n_envs",
    "latent_dim",
    "history_len",
    "history_arch",
    "history_hidden",
    "trial_episodes",
    "hyperparams",
    "seed",
)
"""Config fields a saved model was built from: a changed one cannot load it, or (``seed``, which
drew its first weights and every stream its training used) would make the run's record name
training it did not have."""

MODEL_FIELDS_RECORDED_SINCE = frozenset({"seed"})
"""Model fields checkpoints record since a later version: one saved before lacks them, and a
config is not compared with it on them."""


@dataclass(frozen=True)
class Checkpoint:
    """One saved state of training."""

    path: Path
    steps: int


def model_fields(config: TrainConfig) -> dict[str, Any]:
    """The config fields a model is built from (recorded in every checkpoint's meta)."""
    data = config.to_dict()
    return {name: data[name] for name in MODEL_FIELDS}


def save_checkpoint(
    target: Path,
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    scheduler_state: Any,
    config: TrainConfig,
    *,
    replay: bool,
    point: str = "checkpoint",
) -> None:
    """Save a model (+ normalization stats, scheduler RNG state, replay buffer) atomically,
    with a manifest written last.

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
        meta = {"steps": int(model.num_timesteps), "config": model_fields(config)}
        atomic_write_json(tmp / META_FILE, meta)
        write_manifest(tmp)


def read_meta(folder: Path) -> tuple[int, dict[str, Any]]:
    """The step count and model config a checkpoint's ``meta.json`` records (strictly: a
    missing, unknown or ill-typed field is a :class:`CheckpointError`, except a model field that a
    checkpoint saved before it existed lacks: :func:`~mtml_rl.training.config.with_fields_added_since`,
    or before checkpoints recorded it: :data:`MODEL_FIELDS_RECORDED_SINCE`, left out)."""
    file = folder / META_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{file} is missing or not JSON ({exc})") from None
    steps = data.get("steps") if isinstance(data, dict) else None
    fields = data.get("config") if isinstance(data, dict) else None
    if isinstance(fields, dict):
        fields = with_fields_added_since(fields, MODEL_FIELDS)
    required = set(MODEL_FIELDS) - MODEL_FIELDS_RECORDED_SINCE
    if (
        not isinstance(data, dict)
        or set(data) != {"steps", "config"}
        or isinstance(steps, bool)
        or not isinstance(steps, int)
        or steps < 0
        or not isinstance(fields, dict)
        or not required <= set(fields) <= set(MODEL_FIELDS)
    ):
        raise CheckpointError(
            f"{file} is not a checkpoint record (expected steps >= 0 and the config fields "
            f"{', '.join(MODEL_FIELDS)})"
        )
    return steps, fields


def checkpoint_problem(folder: Path, required: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a saved model folder (``None``: its manifest verifies, it holds a
    model and its meta record is whole)."""
    problem = manifest_problem(folder, (MODEL_FILE, META_FILE, *required))
    if problem is not None:
        return problem
    try:
        read_meta(folder)
    except CheckpointError as exc:
        return str(exc)
    return None


def list_checkpoints(path: Path) -> list[Checkpoint]:
    """Periodic checkpoints of a run that verify (:func:`checkpoint_problem`), oldest first."""
    found = []
    for folder in (path / "checkpoints").glob(f"{STEP_PREFIX}*"):
        if checkpoint_problem(folder) is None:
            found.append(Checkpoint(folder, read_meta(folder)[0]))
    return sorted(found, key=lambda c: c.steps)


def damaged_checkpoints(path: Path) -> dict[Path, str]:
    """Periodic checkpoint folders of a run that do not verify, with what is wrong."""
    out = {}
    for folder in sorted((path / "checkpoints").glob(f"{STEP_PREFIX}*")):
        problem = checkpoint_problem(folder)
        if problem is not None:
            out[folder] = problem
    return out


def fallback_hint(path: Path, damaged: Path) -> str:
    """Where a run whose ``damaged`` folder does not verify can go on from."""
    good = [c for c in list_checkpoints(path) if c.path != damaged]
    if not good:
        return "the run has no good checkpoint to fall back to: train it again with --force"
    return (
        f"the last good checkpoint is {good[-1].path} (step {good[-1].steps}); "
        f"`mtml-rl train --resume {path}` goes on from it"
    )


def verify_folder(folder: Path, run: Path, required: tuple[str, ...] = ()) -> int:
    """Check a saved model folder before it is loaded; its step count.

    :raises CheckpointError: naming the damaged file and the last good checkpoint
    """
    problem = checkpoint_problem(folder, required)
    if problem is not None:
        raise CheckpointError(f"{folder}: {problem}; {fallback_hint(run, folder)}")
    return read_meta(folder)[0]


def saved_model_spaces(folder: Path) -> tuple[gym.spaces.Space, gym.spaces.Space]:
    """The observation and action spaces of the model saved in ``folder``: the zip's ``data``
    entry only (SB3's own format), neither parameters nor the model loaded."""
    from stable_baselines3.common.save_util import json_to_data

    file = folder / MODEL_FILE
    try:
        with zipfile.ZipFile(file) as archive:
            data = json_to_data(archive.read("data").decode())
        return data["observation_space"], data["action_space"]
    except Exception as exc:  # a damaged zip raises many kinds of error
        raise CheckpointError(
            f"{file} does not load ({type(exc).__name__}: {exc}); delete its folder to resume from an "
            "older checkpoint"
        ) from None


def check_model_config(folder: Path, run: Path, config: TrainConfig) -> None:
    """Refuse a ``config.yaml`` that changed since ``folder``'s model was saved in a field the
    model is built from (``method``, ``history_len`` ...): it would not load that model."""
    _, saved = read_meta(folder)
    now = model_fields(config)
    changed = [
        f"{k} is {now[k]!r}, was {saved[k]!r}" for k in MODEL_FIELDS if k in saved and now[k] != saved[k]
    ]
    if changed:
        raise CheckpointError(
            f"{run / 'config.yaml'} changed since {folder} was saved ({'; '.join(changed)}); "
            "restore it, or train a new run with the new settings"
        )


def latest_checkpoint(path: Path) -> Checkpoint:
    """The newest checkpoint that verifies; a clear error if there is none."""
    checkpoints = list_checkpoints(path)
    if not checkpoints:
        damaged = damaged_checkpoints(path)
        detail = "".join(f"; {folder.name}: {problem}" for folder, problem in damaged.items())
        raise CheckpointError(
            f"{path} has no complete checkpoint under checkpoints/{detail}; "
            "it cannot be resumed (train again with --force)"
        )
    return checkpoints[-1]


def checkpoint_dir(path: Path, steps: int) -> Path:
    """The periodic checkpoint of ``steps`` of the run in ``path``."""
    return path / "checkpoints" / f"{STEP_PREFIX}{steps}"


def has_replay_buffer(folder: Path) -> bool:
    """Whether the saved model folder keeps a replay buffer its manifest vouches for."""
    return (folder / REPLAY_FILE).is_file() and lists_file(folder, REPLAY_FILE)


def drop_replay_buffers_before(path: Path, steps: int) -> list[Path]:
    """Delete the replay buffer of every periodic checkpoint of the run in ``path`` before step
    ``steps``; the checkpoints whose buffer went. Call it holding the run's lock, once the
    checkpoint of ``steps`` (or the model training goes on from) is whole.

    A resume goes on from the newest checkpoint, so only its buffer is ever read; every older
    one would keep a copy of a buffer that can be hundreds of MB (SB3 saves its whole capacity).
    The buffer leaves the manifest first: a process killed before the file is deleted leaves a
    checkpoint that verifies and a file that is not trusted (:func:`has_replay_buffer`), which
    the next call deletes. A checkpoint whose manifest does not read is left as it is.
    """
    dropped = []
    for folder in (path / "checkpoints").glob(f"{STEP_PREFIX}*"):
        replay = folder / REPLAY_FILE
        folder_steps = folder.name[len(STEP_PREFIX) :]
        if not folder_steps.isdigit() or int(folder_steps) >= steps or not replay.is_file():
            continue
        try:
            unlist_file(folder, REPLAY_FILE)
        except InputFileError:
            continue
        fault_point("drop_replay")
        replay.unlink(missing_ok=True)
        dropped.append(folder)
    return sorted(dropped)


KEPT_FINAL_PREFIX = "final_"
"""``checkpoints/final_<N>``: a final model of step ``N`` that training went past."""


def kept_final_dir(path: Path, steps: int) -> Path:
    """Where the run in ``path`` keeps its final model of ``steps`` once training goes past it."""
    return path / "checkpoints" / f"{KEPT_FINAL_PREFIX}{steps}"


def kept_finals(path: Path) -> list[Path]:
    """The earlier final models the run keeps (:func:`keep_final`), by name."""
    return sorted((path / "checkpoints").glob(f"{KEPT_FINAL_PREFIX}*"))


def keep_final(path: Path, steps: int) -> Path | None:
    """Copy the run's ``final/`` (of ``steps``) to :func:`kept_final_dir` before training past
    it replaces it: a resume to a larger budget keeps the model that earlier results came from.

    For SAC and TD3 the periodic checkpoint at the same step is not that model (the last
    gradient step comes after the checkpoint is saved). The copy appears whole or not at all
    and must verify as ``final/`` did; one that already verifies is left as it is.

    :return: the copy, or ``None`` if a verifying copy was already there
    """
    target = kept_final_dir(path, steps)
    if target.is_dir() and checkpoint_problem(target) is None:
        return None
    with atomic_dir(target) as tmp:
        shutil.copytree(path / "final", tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
        fault_point("keep_final")
        problem = checkpoint_problem(tmp)
        if problem is not None:
            raise CheckpointError(
                f"{path / 'final'} did not copy whole to {target} ({problem}); nothing was kept"
            )
    return target


def restore_replaced_folders(path: Path) -> list[Path]:
    """Put back the folders of a run (``final/``, ``best/``, ``checkpoints/post_train`` ...)
    that a writer killed while replacing one had moved aside (:func:`~mtml_rl.io.restore_replaced`);
    the ones put back. Call it holding the run's lock, before :func:`remove_leftovers`."""
    return [*restore_replaced_in(path), *restore_replaced_in(path / "checkpoints")]


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files and folders a killed writer left in a run (hidden names:
    ``.step_N.*``, ``.best.*``, ``.final.*``, ``.run.json.*.tmp`` ...; lock files are kept);
    the ones removed. Call it holding the run's lock."""
    removed = []
    for folder in (path, path / "checkpoints", path / "final", path / "best", path / "logs"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if not entry.name.startswith(".") or entry.name.endswith(".lock"):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def save_best(
    target: Path,
    model: BaseAlgorithm,
    normalizer: VecNormalize | None,
    config: TrainConfig,
    record: dict[str, Any],
) -> None:
    """Save the best model so far with its evaluation ``record`` (``eval.json``), atomically
    and with a manifest written last."""
    with atomic_dir(target) as tmp:
        model.save(tmp / MODEL_FILE)
        fault_point("best")
        if normalizer is not None:
            normalizer.save(str(tmp / NORMALIZER_FILE))
        atomic_write_json(tmp / "eval.json", record)
        atomic_write_json(tmp / META_FILE, {"steps": int(record["steps"]), "config": model_fields(config)})
        write_manifest(tmp)


def check_normalizer(saved: Any, space: gym.spaces.Space, file: Path) -> None:
    """Refuse observation statistics that are not a normalizer of observations of ``space``
    (another run's, say)."""
    if not isinstance(saved, VecNormalize):
        raise CheckpointError(f"{file} holds a {type(saved).__name__}, not observation statistics")
    rms = saved.obs_rms
    if isinstance(rms, dict) and isinstance(space, gym.spaces.Dict):
        mine = {k: tuple(space[k].shape or ()) for k in rms if k in space.spaces}
        theirs = {k: tuple(np.shape(v.mean)) for k, v in rms.items()}
    else:
        mine, theirs = {"obs": tuple(space.shape or ())}, {"obs": tuple(np.shape(getattr(rms, "mean", ())))}
    if mine != theirs:
        raise CheckpointError(
            f"{file} holds statistics of other observations (shapes {theirs}, this run's are {mine}): "
            "it is not this run's; restore the file saved with the model"
        )


# --------------------------------------------------------------------------------------------
# the method's post-training step (adapt: phase 2) and its progress
# --------------------------------------------------------------------------------------------
POST_TRAIN_DIR = "post_train"
"""``checkpoints/post_train``: the post-training step's progress."""
POST_TRAIN_META = ("logged_step", "final_model_sha256")
POST_TRAIN_SETTINGS = "settings"
"""The record's field of the settings the progress was made with (an earlier mtml-rl's record
lacks it)."""


def post_train_dir(path: Path) -> Path:
    """Where the post-training step of the run in ``path`` saves its progress."""
    return path / "checkpoints" / POST_TRAIN_DIR


def _final_model_sha(path: Path) -> str:
    return str(read_manifest(path / "final")[MODEL_FILE]["sha256"])


def save_post_train(
    path: Path, write: Callable[[Path], None], logged_step: int, settings: Mapping[str, Any]
) -> None:
    """Save the post-training step's progress: ``write(folder)`` writes its files, then its
    record (the last step it logged, the final model it belongs to, the ``settings`` it was
    made with: :meth:`~mtml_rl.training.method.Method.later_phase_settings`) and a manifest;
    the folder is replaced whole."""
    record = {
        "logged_step": int(logged_step),
        "final_model_sha256": _final_model_sha(path),
        POST_TRAIN_SETTINGS: as_json_record(settings),
    }
    with atomic_dir(post_train_dir(path)) as tmp:
        write(tmp)
        fault_point("phase2")
        atomic_write_json(tmp / META_FILE, record)
        write_manifest(tmp)


def as_json_record(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` as its JSON record reads back (tuples as lists)."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(settings)))
    return plain


def post_train_problem(path: Path, settings: Mapping[str, Any]) -> str | None:
    """Why the post-training progress of the run in ``path`` cannot be gone on from (``None``:
    there is none, or it verifies, belongs to the current final model and was made with
    ``settings``, the run's config's now)."""
    folder = post_train_dir(path)
    if not folder.is_dir():
        return None
    problem = manifest_problem(folder, (META_FILE,))
    if problem is not None:
        return problem
    try:
        record = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        current = _final_model_sha(path)
    except (OSError, ValueError, InputFileError, KeyError) as exc:
        return f"cannot be read ({exc})"
    if not isinstance(record, dict) or not set(POST_TRAIN_META) <= set(record) <= {
        *POST_TRAIN_META,
        POST_TRAIN_SETTINGS,
    }:
        return f"{META_FILE} is not its record"
    if record["final_model_sha256"] != current:
        return "belongs to another final model"
    return _changed_settings(record.get(POST_TRAIN_SETTINGS), settings)


def _changed_settings(recorded: Any, now: Mapping[str, Any]) -> str | None:
    """What differs between the settings a progress was made with and the run's now (``None``:
    nothing, or a record from before they were kept)."""
    if recorded is None:
        return None
    if not isinstance(recorded, dict):
        return f"{META_FILE} is not its record"
    changed = setting_changes(recorded, as_json_record(now))
    return f"was made with other settings ({'; '.join(map(str, changed))})" if changed else None


def post_train_progress(path: Path, settings: Mapping[str, Any]) -> Path | None:
    """The post-training progress folder if it verifies, belongs to the current final model
    and was made with ``settings`` (``None``: there is none to go on from; the step starts
    over)."""
    folder = post_train_dir(path)
    return folder if folder.is_dir() and post_train_problem(path, settings) is None else None


def post_train_logged_step(path: Path, settings: Mapping[str, Any]) -> int | None:
    """The last step the post-training progress logged (``None``: there is no progress to go
    on from)."""
    folder = post_train_progress(path, settings)
    if folder is None:
        return None
    step = json.loads((folder / META_FILE).read_text(encoding="utf-8"))["logged_step"]
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def remove_post_train(path: Path) -> None:
    """Drop the post-training progress once the step finished (it is in ``final/`` now)."""
    shutil.rmtree(post_train_dir(path), ignore_errors=True)
