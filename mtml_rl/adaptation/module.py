"""The adaptation module ``ẑ = AdaptationModule(history)`` and its persistence."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3.common.policies import BasePolicy
from torch import nn

from mtml_rl.errors import CheckpointError
from mtml_rl.io import atomic_save
from mtml_rl.policies.extractor import LatentSource, MetaExtractor
from mtml_rl.policies.history import DEFAULT_HIDDEN, HistoryEncoder

MODULE_FILE = "adaptation.pt"


class AdaptationModule(nn.Module):
    """Estimates the task latent from the last ``H`` transitions ``(obs, action, reward)``.

    The output passes through ``tanh``, like the privileged encoder's ``z``.

    :param history_len: ``H``
    :param row_dim: values per transition ``D``
    :param latent_dim: size of ``z``
    :param arch: ``mlp``, ``conv`` or ``gru`` (see :class:`HistoryEncoder`)
    :param hidden: hidden width
    """

    def __init__(
        self,
        history_len: int,
        row_dim: int,
        latent_dim: int,
        arch: str = "conv",
        hidden: int = DEFAULT_HIDDEN,
    ) -> None:
        super().__init__()
        for name, value in {"history_len": history_len, "row_dim": row_dim, "latent_dim": latent_dim}.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.hparams = {
            "history_len": history_len,
            "row_dim": row_dim,
            "latent_dim": latent_dim,
            "arch": arch,
            "hidden": hidden,
        }
        self.encoder = HistoryEncoder(history_len, row_dim, latent_dim, arch=arch, hidden=hidden)
        self.mean_latent: th.Tensor
        self.register_buffer("mean_latent", th.zeros(latent_dim))

    def forward(self, history: th.Tensor) -> th.Tensor:
        """``(B, H * D)`` -> ``(B, latent_dim)``."""
        return th.tanh(self.encoder(history))

    def latent_source(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """Use as :meth:`MetaExtractor.set_latent_source`: reads only ``history``."""
        return self(observations["history"])

    def save(self, path: Path) -> None:
        """Write hyperparameters and weights atomically."""
        payload = {"hparams": self.hparams, "state_dict": self.state_dict()}
        atomic_save(path, lambda tmp: th.save(payload, tmp))

    @classmethod
    def load(cls, path: Path) -> AdaptationModule:
        """Inverse of :meth:`save`; a clear error if the file is missing or corrupt."""
        if not path.is_file():
            raise CheckpointError(
                f"{path} is missing; the adapt run has no trained adaptation module (was phase 2 finished?)"
            )
        try:
            payload: dict[str, Any] = th.load(path, map_location="cpu", weights_only=True)
            module = cls(**payload["hparams"])
            module.load_state_dict(payload["state_dict"])
        except Exception as exc:
            raise CheckpointError(f"{path} is corrupt ({type(exc).__name__}: {exc})") from None
        module.eval()
        return module


def meta_extractors(policy: BasePolicy) -> list[MetaExtractor]:
    """Every :class:`MetaExtractor` of a policy (actor's and critics', shared or not)."""
    return [m for m in policy.modules() if isinstance(m, MetaExtractor)]


def acting_extractor(policy: BasePolicy) -> MetaExtractor:
    """The extractor the policy acts through (the actor's for off-policy algorithms)."""
    actor = getattr(policy, "actor", None)
    if actor is not None and isinstance(getattr(actor, "features_extractor", None), MetaExtractor):
        return actor.features_extractor
    extractor = getattr(policy, "pi_features_extractor", None) or getattr(policy, "features_extractor", None)
    if not isinstance(extractor, MetaExtractor):
        raise TypeError("the policy does not use mtml-rl's MetaExtractor")
    return extractor


@contextmanager
def acting_with(policy: BasePolicy, module: AdaptationModule) -> Iterator[None]:
    """Inside the block, every extractor of ``policy`` takes ``z`` from ``module``."""
    with acting_with_source(policy, module.latent_source):
        yield


@contextmanager
def acting_with_latents(policy: BasePolicy, latents: th.Tensor) -> Iterator[None]:
    """Inside the block, every extractor of ``policy`` acts with the given ``(B, latent_dim)``
    latents, one row per observation of the batch it is handed."""
    with acting_with_source(policy, lambda observations: latents):
        yield


@contextmanager
def acting_with_source(policy: BasePolicy, source: LatentSource) -> Iterator[None]:
    """Inside the block, every extractor of ``policy`` takes ``z`` from ``source``."""
    extractors = meta_extractors(policy)
    for extractor in extractors:
        extractor.set_latent_source(source)
    try:
        yield
    finally:
        for extractor in extractors:
            extractor.set_latent_source(None)
