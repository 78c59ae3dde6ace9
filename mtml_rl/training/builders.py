"""Building a run's environment stack and model from its config."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import TORCH_CPU_OUT_OF_MEMORY, ConfigError, MtmlError, MtmlWarning
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.training.algorithms import AlgoInfo
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.hyperparams import Hyperparams, resolve_hyperparams
from mtml_rl.training.monitor import TaskEpisodeMonitor
from mtml_rl.training.optim import use_foreach_updates
from mtml_rl.training.spaces import check_presented


@dataclass
class EnvStack:
    """The training env and its layers.

    :param venv: the batched multi-task vector env (task scheduler, slots)
    :param monitor: records finished episodes with their tasks
    :param env: what the algorithm steps: the method's wrapper over the monitor (for ``rl2``
        :class:`~mtml_rl.envs.rl2.RL2VecEnv`; most methods add none), then VecNormalize
    :param normalizer: the VecNormalize layer, if any
    """

    venv: MultiTaskVectorEnv
    monitor: TaskEpisodeMonitor
    env: VecEnv
    normalizer: VecNormalize | None


def resolve_algo(config: TrainConfig, spec: TaskSpec) -> tuple[AlgoInfo, Hyperparams]:
    """The method's algorithm (checked against the family's action space) and its
    hyperparameters; the method first refuses a spec it cannot train on."""
    method = config.resolved_method()
    method.check(config, spec)
    action_space = spec.family_cls().action_space()
    algo = method.algorithm(config, action_space)
    action_dim = int(action_space.shape[0]) if isinstance(action_space, gym.spaces.Box) else None
    return algo, resolve_hyperparams(algo, spec.family, dict(config.hyperparams), action_dim, config.profile)


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
    method = config.resolved_method()
    layout = method.layout(config)
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
    top = method.wrap_env(monitor, config)
    check_presented(
        method, config, top.observation_space, venv.single_observation_space, venv.single_action_space
    )
    kwargs = normalize_kwargs(hp.normalize, float(hp.algo_kwargs.get("gamma", 0.99)))
    if kwargs is None:
        return EnvStack(venv, monitor, top, None)
    if isinstance(venv.single_observation_space, gym.spaces.Dict):
        keys = [k for k in venv.single_observation_space.spaces if k != "context"]
        kwargs.setdefault("norm_obs_keys", keys)
    normalizer = VecNormalize(top, **kwargs)
    return EnvStack(venv, monitor, normalizer, normalizer)


def build_model(config: TrainConfig, algo: AlgoInfo, hp: Hyperparams, stack: EnvStack) -> BaseAlgorithm:
    """A fresh SB3 model with the policy the method asks for, its optimizers on torch's
    ``foreach`` updates (:func:`~mtml_rl.training.optim.use_foreach_updates`); SB3's and
    torch's refusals of a hyperparameter (an assertion, a bad argument) become a
    :class:`ConfigError`."""
    kwargs = dict(hp.algo_kwargs)
    policy = config.resolved_method().policy(
        config, stack.venv.single_observation_space, dict(kwargs.pop("policy_kwargs", {}))
    )
    try:
        model = algo.cls(
            policy.name,
            stack.env,
            seed=config.seed,
            device=config.device,
            verbose=0,
            policy_kwargs=policy.kwargs,
            **kwargs,
        )
    except MtmlError:
        raise
    except (AssertionError, ValueError, TypeError, RuntimeError, KeyError) as exc:
        if TORCH_CPU_OUT_OF_MEMORY.search(str(exc)):
            raise  # a network too large (--latent-dim 100000000) is out of memory, not a bad value
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"{algo.name} cannot be built with these hyperparameters (policy_kwargs included): "
            f"{text}; fix them in --hyperparams or the config's hyperparams"
        ) from None
    use_foreach_updates(model)
    return model


def warn_if_the_budget_misfits(model: BaseAlgorithm, timesteps: int) -> None:
    """Warn (:class:`~mtml_rl.errors.MtmlWarning`) where SB3 will not train ``timesteps`` as
    asked: an on-policy model collects whole rollouts, so a budget of at most half of one takes
    at least twice the steps asked (``--timesteps 1000`` with ``n_steps: 4096`` on 8 slots
    trained 32,768 steps, with nothing said before it finished); an off-policy model whose
    ``learning_starts`` is not below the budget takes no gradient step at all, and the run
    "finished" with its random initial policy."""
    if isinstance(model, OnPolicyAlgorithm):
        rollout = model.n_steps * model.n_envs
        taken = -(-timesteps // rollout) * rollout
        if taken >= 2 * timesteps:
            warnings.warn(
                f"timesteps {timesteps} is at most half of one rollout of {rollout} steps (n_steps "
                f"{model.n_steps} x n_envs {model.n_envs}); SB3 trains in whole rollouts, so the run "
                f"takes {taken}: ask for them, or lower n_steps or n_envs",
                MtmlWarning,
                stacklevel=2,
            )
    elif isinstance(model, OffPolicyAlgorithm) and model.learning_starts >= timesteps:
        warnings.warn(
            f"learning_starts {model.learning_starts} is not below timesteps {timesteps}: the run "
            "collects its steps and takes no gradient step, so its policy stays the random initial "
            "one; lower learning_starts or raise the budget",
            MtmlWarning,
            stacklevel=2,
        )
