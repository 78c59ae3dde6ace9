"""Methods: what each one observes and how its features extractor is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtml_rl.policies.extractor import MetaExtractor
from mtml_rl.training.config import TrainConfig


@dataclass(frozen=True)
class MethodEnv:
    """How a method's training environment presents tasks.

    :param context: the context visibility mode during training
    :param history_len: the history window in observations (0: none)
    """

    context: str
    history_len: int


def method_env(config: TrainConfig) -> MethodEnv:
    """The training-time observation layout of ``config.method``."""
    return {
        "dr": MethodEnv("hidden", 0),
        "oracle": MethodEnv("privileged", 0),
        "history": MethodEnv("hidden", config.history_len),
        "adapt": MethodEnv("privileged", config.history_len),
    }[config.method]


def extractor_kwargs(config: TrainConfig, policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` with the meta-policy's features extractor set for the method."""
    extra = dict(policy_kwargs.pop("features_extractor_kwargs", {}) or {})
    kwargs = {
        "method": config.method,
        "latent_dim": config.latent_dim,
        "history_len": method_env(config).history_len,
        "history_arch": config.history_arch,
        **extra,
    }
    return {**policy_kwargs, "features_extractor_class": MetaExtractor, "features_extractor_kwargs": kwargs}


def policy_name(is_dict: bool) -> str:
    """SB3's policy alias for Box or Dict observations."""
    return "MultiInputPolicy" if is_dict else "MlpPolicy"
