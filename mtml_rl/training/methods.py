"""Methods: what each one observes and how its features extractor is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtml_rl.policies.extractor import MetaExtractor
from mtml_rl.training.config import TrainConfig, default_trial_episodes

RECURRENT_METHODS = ("rl2",)
"""Methods whose policy is sb3-contrib's LSTM policy instead of the meta-policy."""
EXTRACTOR_METHOD = {"finetune": "dr"}
"""The :class:`MetaExtractor` method of methods that train like another (finetune trains as dr)."""


@dataclass(frozen=True)
class MethodEnv:
    """How a method's training environment presents tasks.

    :param context: the context visibility mode during training
    :param history_len: the history window in observations (0: none)
    :param trial_episodes: episodes per trial (a slot keeps its task this many episodes)
    """

    context: str
    history_len: int
    trial_episodes: int = 1


def method_env(config: TrainConfig) -> MethodEnv:
    """The training-time observation layout of ``config.method``."""
    context, history_len = {
        "dr": ("hidden", 0),
        "oracle": ("privileged", 0),
        "history": ("hidden", config.history_len),
        "adapt": ("privileged", config.history_len),
        "rl2": ("hidden", 0),
        "finetune": ("hidden", 0),
    }[config.method]
    trial = config.trial_episodes
    return MethodEnv(context, history_len, default_trial_episodes(config.method) if trial is None else trial)


def extractor_kwargs(config: TrainConfig, policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` with the meta-policy's features extractor set for the method
    (unchanged for recurrent methods, whose LSTM reads the flat observation)."""
    if config.method in RECURRENT_METHODS:
        return policy_kwargs
    extra = dict(policy_kwargs.pop("features_extractor_kwargs", {}) or {})
    kwargs = {
        "method": EXTRACTOR_METHOD.get(config.method, config.method),
        "latent_dim": config.latent_dim,
        "history_len": method_env(config).history_len,
        "history_arch": config.history_arch,
        **extra,
    }
    return {**policy_kwargs, "features_extractor_class": MetaExtractor, "features_extractor_kwargs": kwargs}


def policy_name(is_dict: bool, recurrent: bool = False) -> str:
    """SB3's (or sb3-contrib's recurrent) policy alias for Box or Dict observations."""
    if recurrent:
        return "MultiInputLstmPolicy" if is_dict else "MlpLstmPolicy"
    return "MultiInputPolicy" if is_dict else "MlpPolicy"
