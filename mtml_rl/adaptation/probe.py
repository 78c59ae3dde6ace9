"""The latent error ``|ẑ − z|`` of an adaptation module while its policy acts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.adaptation.module import AdaptationModule, acting_extractor
from mtml_rl.envs.observation import ContextCodec
from mtml_rl.families.base import Family
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


class LatentProbe:
    """``|ẑ − z|`` (mean over latent entries) per slot, for a policy acting with ``ẑ``.

    ``z = EnvEncoder(context)`` is computed from the true context of each slot's task, which
    the probe is given; ``ẑ = AdaptationModule(history)`` from the history in the
    observation. Both inputs are normalized as the policy saw them in training.

    :param model: the phase-1 model (its privileged context encoder gives ``z``)
    :param normalizer: its observation normalizer, if any
    :param module: the adaptation module
    :param spec: the spec the tasks belong to
    :param tasks: the task of every slot
    """

    def __init__(
        self,
        model: BaseAlgorithm,
        normalizer: VecNormalize | None,
        module: AdaptationModule,
        spec: TaskSpec,
        tasks: Sequence[Task],
    ) -> None:
        self.module = module
        self.normalizer = normalizer
        encoder = acting_extractor(model.policy).env_encoder
        if encoder is None:
            raise TypeError("the adapt run's policy has no privileged context encoder")
        self.encoder: th.nn.Module = encoder
        codec = ContextCodec(spec, cast("type[Family]", spec.family_cls))
        self.contexts = codec.encode(list(tasks))

    def errors(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """``(N,)`` latent errors of the current step."""
        full: dict[str, np.ndarray] = {**obs, "context": self.contexts}
        if self.normalizer is not None:
            full = self.normalizer.normalize_obs(full)  # type: ignore[assignment]
        with th.no_grad():
            z = self.encoder(th.as_tensor(full["context"], dtype=th.float32))
            z_hat = self.module(th.as_tensor(full["history"], dtype=th.float32))
        return (z_hat - z).abs().mean(dim=1).numpy().astype(np.float64)

    def mean_latent_errors(self) -> np.ndarray:
        """``(N,)`` errors ``|z̄ − z|`` of predicting the module's mean latent ``z̄`` (the mean
        of phase 2's targets, the best constant guess) for every slot's task: the baseline of
        :meth:`errors`. The context entry is never normalized (training leaves it out)."""
        with th.no_grad():
            z = self.encoder(th.as_tensor(self.contexts, dtype=th.float32))
        return (self.module.mean_latent - z).abs().mean(dim=1).numpy().astype(np.float64)
