"""The latent error ``|ẑ − z|`` of an adaptation module while its policy acts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from mtml_rl.adaptation.module import AdaptationModule, acting_extractor
from mtml_rl.envs.observation import ContextCodec
from mtml_rl.families.base import Family
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


class LatentProbe:
    """``|ẑ − z|`` (mean over latent entries) per slot, for a policy acting with ``ẑ``.

    ``z = EnvEncoder(context)`` is computed once, from the true context of each slot's task,
    which the probe is given (a slot's task, and so its ``z``, stays the same); ``ẑ =
    AdaptationModule(history)`` at every step from the history in the observation. Both inputs
    are normalized as phase 2 saw them (the context only if the run's normalizer normalizes it,
    which by default it does not).

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
        self.contexts = ContextCodec(spec, cast("type[Family]", spec.family_cls)).encode(list(tasks))
        with th.no_grad():
            self.latents: th.Tensor = encoder(th.as_tensor(self._normalized_contexts(), dtype=th.float32))
        """``(N, latent)``: every slot's true ``z``."""

    def _normalized_contexts(self) -> np.ndarray:
        """The slots' contexts as the normalizer passes them to the policy (each entry of an
        observation is normalized on its own, so the other entries can be anything)."""
        if self.normalizer is None or not isinstance(self.normalizer.observation_space, spaces.Dict):
            return self.contexts
        n = len(self.contexts)
        blank = {
            key: np.zeros((n, *(space.shape or ())), dtype=np.float32)
            for key, space in self.normalizer.observation_space.spaces.items()
        }
        normalized = self.normalizer.normalize_obs({**blank, "context": self.contexts})
        return np.asarray(normalized["context"])

    def errors(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """``(N,)`` latent errors of the current step."""
        history = obs["history"]
        if self.normalizer is not None:
            history = self.normalizer.normalize_obs({**obs, "context": self.contexts})["history"]
        with th.no_grad():
            z_hat = self.module(th.as_tensor(history, dtype=th.float32))
        return (z_hat - self.latents).abs().mean(dim=1).numpy().astype(np.float64)

    def mean_latent_errors(self) -> np.ndarray:
        """``(N,)`` errors ``|z̄ − z|`` of predicting the module's mean latent ``z̄`` (the mean
        of phase 2's targets, the best constant guess) for every slot's task: the baseline of
        :meth:`errors`."""
        return (self.module.mean_latent - self.latents).abs().mean(dim=1).numpy().astype(np.float64)
