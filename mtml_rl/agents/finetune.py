"""The deployed ``finetune`` policy: the run's policy, cloned and trained further on each test task.

A ``finetune`` run trains exactly like ``dr`` (context-blind, the whole train split). At
evaluation, :meth:`FinetuneAgent.adapt` loads a fresh copy of the run's saved model (and
its observation normalizer) from disk, trains that clone for ``finetune_timesteps``
environment steps on the one task, with the run's algorithm, hyperparameters and number
of slots, and then acts with the clone. SB3 trains in whole rollouts, so the clone takes the
budget rounded up to its rollout (:func:`clone_budget` says how many steps before any
training; :attr:`FinetunedPolicy.timesteps` records them). The saved files and any model already in memory
are never modified. The normalizer's statistics stay frozen while fine-tuning, so the
clone sees inputs scaled as in training.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.errors import CheckpointError, ConfigError, MtmlWarning
from mtml_rl.rollouts import ObsRequirements
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.tasks.task import Task
from mtml_rl.training import rundir
from mtml_rl.training.algorithms import AlgoInfo
from mtml_rl.training.builders import resolve_algo
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.cost import algo_setting, train_frequency, training_work
from mtml_rl.training.hyperparams import clone_overrides
from mtml_rl.training.monitor import silence_logger
from mtml_rl.training.optim import use_foreach_updates
from mtml_rl.training.run import Run


@dataclass
class FinetunedPolicy:
    """A clone of a run's policy, trained further on one task.

    :param task: the task it was fine-tuned on
    :param model: the clone
    :param normalizer: its (frozen) observation normalizer, if the run used one
    :param timesteps: environment steps of fine-tuning taken (the budget rounded up to whole
        rollouts, :func:`clone_budget`)
    """

    task: Task
    model: BaseAlgorithm
    normalizer: VecNormalize | None
    timesteps: int

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The clone's actions (observations normalized as in training)."""
        if self.normalizer is not None:
            obs = self.normalizer.normalize_obs(obs)
        actions, _ = self.model.predict(obs, deterministic=deterministic)
        return np.asarray(actions)


def task_env(
    run: Run, spec: TaskSpec, task: Task, folder: Path, seed: int
) -> tuple[VecEnv, VecNormalize | None]:
    """The fine-tuning env: every slot runs ``task``, context hidden, seeded; wrapped in a
    frozen copy of the normalizer saved in ``folder``, if there is one."""
    venv = make_task_vector_env(spec, num_envs=run.model.n_envs, task=task, context="hidden")
    env = SB3VecEnv(venv)
    env.seed(seed)
    norm_file = folder / rundir.NORMALIZER_FILE
    if not norm_file.is_file():
        return env, None
    try:
        normalizer = VecNormalize.load(str(norm_file), env)
    except Exception as exc:
        raise CheckpointError(f"{norm_file} is corrupt ({exc})") from None
    normalizer.training = False
    return normalizer, normalizer


def finetune_clone(
    run: Run,
    spec: TaskSpec,
    task: Task,
    *,
    timesteps: int,
    seed: int,
    folder: Path | None = None,
    hyperparams: Mapping[str, Any] | None = None,
) -> FinetunedPolicy:
    """Load a fresh copy of ``run``'s saved model and train it ``timesteps`` steps on ``task``.

    :param run: a ``finetune`` (or ``dr``) run
    :param spec: the spec ``task`` belongs to
    :param task: the task to fine-tune on
    :param timesteps: environment steps of fine-tuning
    :param seed: seed of the clone's training and of its env
    :param folder: the saved model's folder (default: the one ``run`` was loaded from)
    :param hyperparams: the clone's hyperparameters over the saved ones (default: the run's
        ``finetune_hyperparams``; checked by :func:`clone_hyperparams`)
    """
    folder = folder if folder is not None else run.model_dir or run.path / "final"
    overrides = clone_hyperparams(
        run, run.config.finetune_hyperparams if hyperparams is None else hyperparams
    )
    env, normalizer = task_env(run, spec, task, folder, seed)
    try:
        clone = type(run.model).load(
            folder / rundir.MODEL_FILE, env=env, device=run.config.device, **overrides
        )
    except Exception as exc:  # a missing or damaged zip raises many kinds of error
        raise CheckpointError(
            f"cannot load {folder / rundir.MODEL_FILE} ({type(exc).__name__}: {exc})"
        ) from None
    use_foreach_updates(clone)
    warn_no_update(clone, timesteps)
    clone.set_random_seed(seed)
    silence_logger(clone)
    clone.learn(total_timesteps=timesteps, reset_num_timesteps=True, progress_bar=False)
    return FinetunedPolicy(task, clone, normalizer, int(clone.num_timesteps))


def clone_hyperparams(run: Run, hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments that load ``run``'s model as a clone with ``hyperparams`` (e.g.
    ``{"n_steps": 32}``: shorter rollouts, more updates in the fine-tuning budget); a key
    the algorithm does not take, or its network's, is a :class:`ConfigError`."""
    algo = run.method.algorithm(run.config, run.model.action_space)
    return clone_overrides(algo, hyperparams)


@dataclass(frozen=True)
class CloneBudget:
    """The environment steps a clone takes on each task.

    :param asked: ``finetune_timesteps``
    :param rollout: the steps its algorithm collects between updates (an on-policy rollout,
        ``n_steps × n_envs``; off-policy, ``train_freq × n_envs``); ``None`` where it counts
        episodes, not steps
    """

    asked: int
    rollout: int | None

    @property
    def taken(self) -> int:
        """``asked`` rounded up to whole rollouts: SB3's ``learn`` collects whole rollouts
        until it has at least ``asked`` steps (``asked`` where the rollout is unknown)."""
        if self.rollout is None:
            return self.asked
        return -(-self.asked // self.rollout) * self.rollout


def rollout_steps(algo_cls: type[BaseAlgorithm], hyperparams: Mapping[str, Any], n_envs: int) -> int | None:
    """The steps ``algo_cls`` collects between updates with ``hyperparams`` (the algorithm's
    defaults where they do not say): ``n_steps × n_envs`` on-policy, ``train_freq × n_envs``
    off-policy with a frequency in steps; ``None`` for a frequency in episodes."""
    if issubclass(algo_cls, OnPolicyAlgorithm):
        return int(algo_setting(algo_cls, hyperparams, "n_steps")) * n_envs
    frequency, unit = train_frequency(algo_cls, hyperparams)
    return frequency * n_envs if unit == "step" else None


@dataclass(frozen=True)
class CloneSettings:
    """How a run's clone trains: its algorithm, its keyword arguments (the clone's
    hyperparameters over the run's) and its slots."""

    algo: AlgoInfo
    settings: dict[str, Any]
    n_envs: int


def clone_settings(config: TrainConfig, spec: TaskSpec | None = None) -> CloneSettings:
    """``config``'s clone as training resolves it, before any training.

    :param spec: the spec it trains on (default: ``config.env`` resolved; a trained run's own
        recorded spec stands where that file has moved)
    """
    algo, hp = resolve_algo(config, spec if spec is not None else resolve_spec(config.env))
    settings = {**hp.algo_kwargs, **clone_overrides(algo, config.finetune_hyperparams)}
    return CloneSettings(algo, settings, config.n_envs or hp.n_envs)


def clone_budget(config: TrainConfig, spec: TaskSpec | None = None) -> CloneBudget:
    """The steps ``config``'s clone takes on each test task, before any training
    (:func:`clone_settings`; ``spec`` as there)."""
    return _budget(clone_settings(config, spec), config.finetune_timesteps)


def clone_work(config: TrainConfig, spec: TaskSpec | None = None) -> int:
    """What the clone's training costs on each test task, in sample passes
    (:func:`~mtml_rl.training.cost.training_work` of its steps taken; ``spec`` as in
    :func:`clone_settings`)."""
    clone = clone_settings(config, spec)
    taken = _budget(clone, config.finetune_timesteps).taken
    return training_work(clone.algo, clone.settings, clone.n_envs, taken)


def _budget(clone: CloneSettings, asked: int) -> CloneBudget:
    return CloneBudget(asked, rollout_steps(clone.algo.cls, clone.settings, clone.n_envs))


def warn_no_update(model: BaseAlgorithm, timesteps: int) -> None:
    """Warn when the clone's budget leaves it (nearly) untrained.

    An off-policy clone (SAC, TD3) starts with an empty replay buffer and makes no gradient
    step before ``learning_starts`` steps, so a budget that does not exceed it changes
    nothing. An on-policy clone whose budget fits in one rollout is updated once, at the end
    of its schedules (a linear learning rate is 0 there), so it learns nothing either.
    """
    if isinstance(model, OffPolicyAlgorithm):
        starts = int(model.learning_starts)
        if timesteps <= starts:
            warnings.warn(
                f"finetune timesteps {timesteps} do not exceed the algorithm's learning_starts "
                f"{starts}: the clone fills its empty replay buffer and is never updated, so it "
                f"acts exactly like the dr policy; use more than {starts} steps",
                MtmlWarning,
                stacklevel=3,
            )
        return
    rollout = int(getattr(model, "n_steps", 0)) * model.n_envs
    if rollout and timesteps <= rollout:
        warnings.warn(
            f"finetune timesteps {timesteps} fit in one rollout of {rollout} steps (n_steps x n_envs): "
            f"the clone is updated once, at the end of its learning-rate schedule; "
            f"use at least {2 * rollout} steps",
            MtmlWarning,
            stacklevel=3,
        )


class FinetuneAgent:
    """The deployed ``finetune`` baseline: :meth:`adapt` fine-tunes a clone on the task.

    Call :meth:`adapt` before each task's episodes; the agent then acts with that task's
    clone (one task at a time, in every slot).

    :param run: a trained run with a memoryless policy (``finetune``, or ``dr``)
    :param timesteps: fine-tuning steps per task (default: the run's ``finetune_timesteps``)
    :param folder: the saved model to clone (default: the folder ``run`` was loaded from)
    """

    privileged = False

    def __init__(self, run: Run, timesteps: int | None = None, folder: Path | None = None) -> None:
        if run.method.recurrent:
            raise ConfigError(
                f"FinetuneAgent needs a finetune run (a memoryless policy to clone), not a recurrent "
                f"{run.method.name} policy: deploy it with load_agent"
            )
        self.run = run
        self.name = run.method.name
        self.timesteps = run.config.finetune_timesteps if timesteps is None else timesteps
        if isinstance(self.timesteps, bool) or not isinstance(self.timesteps, int) or self.timesteps < 1:
            raise ConfigError(f"finetune timesteps must be a positive integer, got {self.timesteps!r}")
        self.folder = folder if folder is not None else run.model_dir or run.path / "final"
        clone_hyperparams(run, run.config.finetune_hyperparams)  # refused here, before any task
        self.requirements = ObsRequirements("hidden", 0)
        self.current: FinetunedPolicy | None = None

    def adapt(self, spec: TaskSpec, task: Task, seed: int) -> None:
        """Fine-tune a fresh clone of the saved policy on ``task``; act with it from now on."""
        self.current = finetune_clone(
            self.run, spec, task, timesteps=self.timesteps, seed=seed, folder=self.folder
        )

    def reset(self, num_envs: int) -> None:
        """Stateless within a task: nothing to forget."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The current task's clone's actions."""
        if self.current is None:
            raise ConfigError(
                "call adapt(spec, task, seed) before act: finetune acts with a clone trained on that task"
            )
        return self.current.act(obs, deterministic)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless: fine-tuning happens in :meth:`adapt`."""
