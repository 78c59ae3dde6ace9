"""The :class:`Run` artifact: a trained run's folder, config, spec, model and normalizer, and
its loading from a run directory."""

from __future__ import annotations

import dataclasses
import functools
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.errors import CheckpointError, ConfigError, MtmlError, SpecError, TaskError, UnknownNameError
from mtml_rl.io import MANIFEST_FILE
from mtml_rl.locks import refuse_if_written
from mtml_rl.rollouts import EpisodeRecord
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task
from mtml_rl.training import rundir
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method, MethodEnv
from mtml_rl.training.registry import get_method, method_names, read_by
from mtml_rl.training.spaces import check_model_spaces, expected_spaces

EVAL_SEED = 12_345
"""Reset seed of periodic evaluations (fixed, so curves of different runs compare)."""


@dataclass
class Run:
    """A trained (or training) run: its folder, config, spec, model and normalizer.

    :param path: the run directory
    :param config: the resolved training config
    :param spec: the task-distribution spec
    :param model: the SB3 model
    :param normalizer: observation normalization statistics (``None`` if unused)
    :param model_dir: the folder the model was saved in (default: the run's ``final``)
    :param trained_as: the method the run was trained as, where it is deployed as another
        (:meth:`deployed_as`; ``None``: deployed as trained)
    """

    path: Path
    config: TrainConfig
    spec: TaskSpec
    model: BaseAlgorithm
    normalizer: VecNormalize | None
    model_dir: Path | None = None
    trained_as: str | None = None

    def __post_init__(self) -> None:
        if self.model_dir is None:
            self.model_dir = self.path / "final"

    @functools.cached_property
    def method(self) -> Method:
        """The run's :class:`~mtml_rl.training.method.Method` (resolved from its config)."""
        return get_method(self.config.method)

    @property
    def training_method(self) -> Method:
        """The method the run was trained as (:attr:`method`, unless deployed as another)."""
        return get_method(self.trained_as) if self.trained_as else self.method

    @property
    def layout(self) -> MethodEnv:
        """The observation layout the model was trained in: its training method's, also where
        the run is deployed as another method (an ``adapt`` run deployed as ``oracle`` sees
        the history window its policy ignores)."""
        return self.training_method.layout(self.config)

    @property
    def trial_episodes(self) -> int:
        """Episodes per trial the run was trained with."""
        return self.config.trial_episodes or self.method.default_trial_episodes

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations (normalized as in training)."""
        if self.method.recurrent:
            raise ConfigError(
                f"a {self.method.name} policy is recurrent and reads the previous transition: act "
                "through its agent, which mtml_rl.agents.load_agent returns (an RL2Agent for rl2)"
            )
        try:
            if self.normalizer is not None:
                obs = self.normalizer.normalize_obs(obs)
            actions, _ = self.model.predict(obs, deterministic=deterministic)
        except ValueError as exc:
            problem = self._observation_problem(obs)
            if problem is None:
                raise
            raise TaskError(problem) from exc
        return np.asarray(actions)

    def _observation_problem(self, obs: Any) -> str | None:
        """What is wrong with a batch of observations the policy refused: observations of
        another spec's shape (``None``: their shapes are the policy's)."""
        space = self.model.observation_space
        if isinstance(space, gym.spaces.Dict):
            want: Any = {key: sub.shape for key, sub in space.spaces.items()}
            got: Any = {key: np.shape(v)[1:] for key, v in obs.items()} if isinstance(obs, dict) else None
        else:
            want, got = space.shape, None if isinstance(obs, dict) else np.shape(obs)[1:]
        if got == want:
            return None
        return (
            f"{self.path}'s policy acts on observations shaped {want} (of {self.spec.id}), got {got} "
            "per slot; play it on the spec it was trained on"
        )

    def evaluate(
        self,
        split: str = "train",
        episodes: int = 1,
        seed: int = EVAL_SEED,
        tasks: Sequence[Task] | None = None,
        deterministic: bool = True,
    ) -> list[EpisodeRecord]:
        """Roll the policy out on a split's tasks (or given tasks), as its method prescribes
        (in its training layout; ``rl2`` plays whole trials)."""
        chosen = list(tasks) if tasks is not None else list(build_splits(self.spec)[split].tasks)
        return self.method.evaluate(self, chosen, episodes=episodes, seed=seed, deterministic=deterministic)

    def deployed_as(self, method: str, **deployment: Any) -> Run:
        """This run deployed as ``method``: a method that trains as the run's own does and
        differs in deployment only (:attr:`Method.trains_as`: a ``dr`` run deployed as
        ``finetune``, or a ``finetune`` run as ``dr``), or the method whose training is the
        run's first phase (:attr:`Method.first_phase`: an ``adapt`` run deployed as ``oracle``,
        in the run's own observation layout). The model and its files are shared, never copied
        or changed.

        :param method: the deploying method's registered name (the run's own: the run as it is,
            with ``deployment`` applied)
        :param deployment: values of the method's deployment fields (:attr:`Method.deployment_fields`,
            e.g. ``finetune_timesteps``); the run's own where not given
        :raises ConfigError: a method that trains otherwise, or a field that acts in training
        """
        target = get_method(method)
        trained = self.training_method
        _check_same_training(trained, target)
        _check_deployment_fields(target, deployment, self.config)
        config = dataclasses.replace(self.config, method=method, **deployment)
        trained_as = trained.name if trained.name != target.name else None
        return dataclasses.replace(self, config=config, trained_as=trained_as)

    @classmethod
    def load(cls, path: str | Path, which: str = "final") -> Run:
        """Load a run's model: ``final``, ``best``, ``latest`` (checkpoint), the periodic
        checkpoint named ``which`` (``step_250000``: a folder of the run's ``checkpoints/``) or
        an earlier final model a resume kept (``final_300000``)."""
        path = Path(path)
        if not rundir.is_run_dir(path):
            raise CheckpointError(
                f"{path} is not a run directory (no config.yaml); pass a folder made by train"
            )
        refuse_if_written(path, "load the run")
        config = TrainConfig.from_run(path / "config.yaml")
        spec = checked_spec(path, config)
        folder = {"final": path / "final", "best": path / "best"}.get(which)
        if which == "latest":
            folder = rundir.latest_checkpoint(path).path
        elif which.startswith((rundir.STEP_PREFIX, rundir.KEPT_FINAL_PREFIX)):
            folder = path / "checkpoints" / which
            if not folder.is_dir():
                saved = [c.path for c in rundir.list_checkpoints(path)] + rundir.kept_finals(path)
                names = ", ".join(p.name for p in saved) or "none"
                raise CheckpointError(f"{path} has no checkpoint {which}; its checkpoints: {names}")
        if folder is None:
            raise ConfigError(
                f"which must be final, best, latest, a checkpoint's step_N or a kept final_N, got {which!r}"
            )
        model, normalizer = load_model(config, folder, path)
        spaces_now = expected_spaces(config, spec)
        check_model_spaces(path, spec, (model.observation_space, model.action_space), spaces_now)
        return cls(path, config, spec, model, normalizer, folder)


def _check_same_training(own: Method, target: Method) -> None:
    """Refuse to deploy a run of ``own`` as ``target`` unless the two train the same way or
    ``target``'s training is ``own``'s first phase."""
    if target.training_identity == own.training_identity or target.name == own.first_phase:
        return
    others = [n for n in method_names() if n != own.name and _training_identity(n) == own.training_identity]
    if own.first_phase:
        others.append(own.first_phase)
    choice = f"as trained or as a method whose training it holds ({', '.join(others)})"
    article = "an" if own.name[:1] in "aeiou" else "a"
    raise ConfigError(
        f"{article} {own.name} run cannot be deployed as {target.name}, which trains otherwise; "
        f"deploy it {choice if others else 'as trained'}"
    )


def _check_deployment_fields(target: Method, deployment: dict[str, Any], config: TrainConfig) -> None:
    """Refuse values of fields that are not ``target``'s deployment fields: one it does not
    read at all is named with the methods that do, the others act in training."""
    allowed = ", ".join(target.deployment_fields) or "none"
    unknown = sorted(set(deployment) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ConfigError(
            f"{', '.join(unknown)}: no such config field; {target.name}'s deployment fields: {allowed}"
        )
    not_read = target.fields_not_read(config, sorted(deployment))
    if not_read:
        fields = ", ".join(f"{name} ({read_by(name, config)})" for name in not_read)
        them = "it" if len(not_read) == 1 else "them"
        raise ConfigError(
            f"{target.name} does not read {fields}; deploy the run as a method that reads {them} "
            f"(--deploy-as), or leave {them} out"
        )
    outside = sorted(set(deployment) - set(target.deployment_fields))
    if outside:
        raise ConfigError(
            f"{', '.join(outside)} act(s) in training, not in deploying {target.name} (its deployment "
            f"fields: {allowed}); train a run with the value instead"
        )


def _training_identity(name: str) -> str | None:
    """The method ``name``'s :attr:`~Method.training_identity` (``None`` for one that does not load)."""
    try:
        return get_method(name).training_identity
    except MtmlError:
        return None


def checked_spec(path: Path, config: TrainConfig) -> TaskSpec:
    """The spec the run recorded (``spec.yaml``): a run loads from any working directory and
    after its spec file moved or was deleted.

    Refused if ``spec.yaml`` does not match the hash the run recorded, or if the spec the run
    was trained from (``config.env``) still resolves but now defines other tasks (an edit of
    its description or name is no change: see :meth:`TaskSpec.content_hash`).
    """
    spec = rundir.recorded_spec(path)
    trained = rundir.recorded_spec_hash(path)
    if spec.content_hash() != trained:
        raise CheckpointError(
            f"{path}: spec.yaml (hash {spec.content_hash()}) is not the spec recorded in splits.json "
            f"(hash {trained}): the run's files changed since this run was trained; restore them or "
            "train a new run"
        )
    current = current_spec(config.env)
    if current is not None and current.content_hash() != trained:
        raise CheckpointError(
            f"{path}: the spec {config.env} changed since this run was trained in what defines its "
            f"tasks (hash {trained} then, {current.content_hash()} now); restore it or train a new run "
            "(a run whose spec file is gone uses its own copy, spec.yaml)"
        )
    return spec


def current_spec(env: str) -> TaskSpec | None:
    """The spec ``env`` names now, or ``None`` if it no longer resolves (a file moved or
    deleted, a relative path from another directory, an id no longer registered)."""
    try:
        return resolve_spec(env)
    except (SpecError, UnknownNameError):
        return None


def load_model(
    config: TrainConfig, folder: Path, run: Path | None = None
) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """The model and normalizer saved in ``folder``, once its manifest verifies and the
    config still builds its model (a clear error naming the damaged file and the last good
    checkpoint otherwise).

    :param config: the run's config
    :param folder: ``final``, ``best`` or a checkpoint of the run
    :param run: the run directory (default: the folder's parent, or its grandparent for a
        checkpoint)
    """
    run = run or (folder.parent.parent if folder.parent.name == "checkpoints" else folder.parent)
    if not (folder / rundir.MODEL_FILE).is_file() and not (folder / MANIFEST_FILE).is_file():
        raise CheckpointError(
            f"{folder} has no {rundir.MODEL_FILE}; the run did not save it (was it finished? "
            f"`mtml-rl train --resume {run}` finishes it)"
        )
    rundir.verify_folder(folder, run)
    rundir.check_model_config(folder, run, config)
    algo = get_method(config.method).algorithm(config)
    try:
        model = algo.cls.load(folder / rundir.MODEL_FILE, device=config.device)
    except Exception as exc:  # a damaged zip raises many kinds of error
        raise CheckpointError(
            f"{folder / rundir.MODEL_FILE} does not load ({type(exc).__name__}: {exc}); use an older "
            "checkpoint or retrain"
        ) from None
    return model, load_normalizer(folder, model)


def load_normalizer(folder: Path, model: BaseAlgorithm | None = None) -> VecNormalize | None:
    """The frozen observation normalizer saved in ``folder``, if there is one (checked against
    the model's observations when given)."""
    norm_file = folder / rundir.NORMALIZER_FILE
    if not norm_file.is_file():
        return None
    try:
        with open(norm_file, "rb") as handle:
            normalizer = pickle.load(handle)
    except Exception as exc:
        raise CheckpointError(f"{norm_file} is corrupt ({exc})") from None
    if model is not None:
        rundir.check_normalizer(normalizer, model.observation_space, norm_file)
    normalizer.training = False
    return normalizer
