"""Building a run's environment stack and model from its config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from mtml_rl.baselines.rl2 import RL2VecEnv
from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import ConfigError
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.training.algorithms import AlgoInfo, method_algo
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.hyperparams import Hyperparams, resolve_hyperparams
from mtml_rl.training.methods import RECURRENT_METHODS, extractor_kwargs, method_env, policy_name
from mtml_rl.training.monitor import TaskEpisodeMonitor


@dataclass
class EnvStack:
    """The training env and its layers.

    :param venv: the batched multi-task vector env (task scheduler, slots)
    :param monitor: records finished episodes with their tasks
    :param env: what the algorithm steps (the monitor, or VecNormalize over it; for ``rl2``
        the :class:`~mtml_rl.baselines.rl2.RL2VecEnv` over the monitor, then VecNormalize)
    :param normalizer: the VecNormalize layer, if any
    """

    venv: MultiTaskVectorEnv
    monitor: TaskEpisodeMonitor
    env: VecEnv
    normalizer: VecNormalize | None


CONTEXT_METHODS = ("oracle", "adapt")
"""Methods that read the true context in training (refused where the spec forbids it)."""


def check_context_access(config: TrainConfig, spec: TaskSpec) -> None:
    """Refuse ``oracle``/``adapt`` on a spec that declares ``privileged_context: false``."""
    if config.method in CONTEXT_METHODS and not spec.privileged_context:
        raise ConfigError(
            f"method {config.method} trains on the true context, but {spec.id} ({spec.source}) declares "
            "privileged_context: false; use a method that infers the task instead: dr, history or rl2"
        )


def resolve_algo(config: TrainConfig, spec: TaskSpec) -> tuple[AlgoInfo, Hyperparams]:
    """The algorithm (checked against the family's action space) and its hyperparameters."""
    check_context_access(config, spec)
    action_space = spec.family_cls().action_space()
    algo = method_algo(config.method, config.algo, action_space)
    action_dim = int(action_space.shape[0]) if isinstance(action_space, gym.spaces.Box) else None
    return algo, resolve_hyperparams(algo, spec.family, dict(config.hyperparams), action_dim)


def normalize_kwargs(setting: Any, gamma: float) -> dict[str, Any] | None:
    """VecNormalize keyword arguments from the ``normalize`` hyperparameter (bool or dict)."""
    if setting is False or setting is None:
        return None
    kwargs: dict[str, Any] = {"norm_obs": True, "norm_reward": True, "gamma": gamma}
    if isinstance(setting, dict):
        kwargs.update(setting)
    return kwargs


def build_env(config: TrainConfig, spec: TaskSpec, hp: Hyperparams, n_envs: int) -> EnvStack:
    """The training env: train split, the method's context mode and history, seeded."""
    layout = method_env(config)
    venv = make_task_vector_env(
        spec,
        num_envs=n_envs,
        split="train",
        context=layout.context,
        history_len=layout.history_len,
        trial_episodes=layout.trial_episodes,
    )
    sb3_env = SB3VecEnv(venv)
    sb3_env.seed(config.seed)
    monitor = TaskEpisodeMonitor(sb3_env)
    top: VecEnv = RL2VecEnv(monitor) if config.method == "rl2" else monitor
    kwargs = normalize_kwargs(hp.normalize, float(hp.algo_kwargs.get("gamma", 0.99)))
    if kwargs is None:
        return EnvStack(venv, monitor, top, None)
    if isinstance(venv.single_observation_space, gym.spaces.Dict):
        keys = [k for k in venv.single_observation_space.spaces if k != "context"]
        kwargs.setdefault("norm_obs_keys", keys)
    normalizer = VecNormalize(top, **kwargs)
    return EnvStack(venv, monitor, normalizer, normalizer)


def build_model(config: TrainConfig, algo: AlgoInfo, hp: Hyperparams, stack: EnvStack) -> BaseAlgorithm:
    """A fresh SB3 model with the meta-policy's features extractor."""
    kwargs = dict(hp.algo_kwargs)
    policy_kwargs = extractor_kwargs(config, dict(kwargs.pop("policy_kwargs", {})))
    is_dict = isinstance(stack.venv.single_observation_space, gym.spaces.Dict)
    return algo.cls(
        policy_name(is_dict, recurrent=config.method in RECURRENT_METHODS),
        stack.env,
        seed=config.seed,
        device=config.device,
        verbose=0,
        policy_kwargs=policy_kwargs,
        **kwargs,
    )
