"""What training costs, roughly, before it runs: the work of a number of environment steps
under an algorithm's hyperparameters, so that a benchmark can start its longest trials first.

The unit is one *sample pass*: a sample through the networks once, forward (an environment
step and the policy's inference on it) or forward and backward (a sample of a minibatch in a
gradient step). A step of training costs one pass to collect, plus the passes its updates
spend on it: an on-policy algorithm trains ``n_epochs`` times on every step it collects (A2C
once); an off-policy one, once ``learning_starts`` steps are in its buffer, makes
``gradient_steps`` minibatch updates of ``batch_size`` samples every ``train_freq × n_envs``
steps. With their shipped settings a step of a 10k-step SAC run on Pendulum counts about
eleven times the passes of a PPO step on CartPole, and takes about ten times as long (the
reduced grid's ``dr`` trials). Network width, encoders and the environment's own cost are
left out: this orders trials, it does not predict their time.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from mtml_rl.training.algorithms import AlgoInfo


def algo_setting(algo_cls: type[BaseAlgorithm], settings: Mapping[str, Any], name: str) -> Any:
    """``settings[name]``, or the algorithm's own default for it (``None`` where it has no
    such parameter)."""
    if name in settings:
        return settings[name]
    parameter = inspect.signature(algo_cls.__init__).parameters.get(name)
    return None if parameter is None else parameter.default


def train_frequency(algo_cls: type[BaseAlgorithm], settings: Mapping[str, Any]) -> tuple[int, str]:
    """An off-policy algorithm's ``train_freq`` as ``(frequency, "step" | "episode")``."""
    freq = algo_setting(algo_cls, settings, "train_freq")
    frequency, unit = (freq, "step") if isinstance(freq, int) else freq
    return int(frequency), str(unit)


def passes_per_update_step(algo: AlgoInfo, settings: Mapping[str, Any], n_envs: int) -> float:
    """Sample passes an algorithm's updates spend per environment step they train on (see the
    module's docstring); an episode-counted ``train_freq`` is taken as one step per update."""
    cls = algo.cls
    if issubclass(cls, OnPolicyAlgorithm):
        return float(algo_setting(cls, settings, "n_epochs") or 1)
    frequency, unit = train_frequency(cls, settings)
    collected = frequency * n_envs if unit == "step" else n_envs
    gradient_steps = int(algo_setting(cls, settings, "gradient_steps"))
    updates = collected if gradient_steps < 0 else gradient_steps  # -1: one per step collected
    return updates * int(algo_setting(cls, settings, "batch_size")) / collected


def training_work(algo: AlgoInfo, settings: Mapping[str, Any], n_envs: int, steps: int) -> int:
    """Sample passes of ``steps`` environment steps of training with ``settings`` (the
    algorithm's keyword arguments; its defaults where they do not say) on ``n_envs`` slots."""
    trained = steps
    if not issubclass(algo.cls, OnPolicyAlgorithm):
        trained = max(steps - int(algo_setting(algo.cls, settings, "learning_starts")), 0)
    return round(steps + trained * passes_per_update_step(algo, settings, n_envs))
