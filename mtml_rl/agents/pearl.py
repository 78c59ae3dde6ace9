"""The deployed PEARL-style agent: posterior sampling while it explores, the posterior mean after."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th

from mtml_rl.policies.pearl import PearlPolicy
from mtml_rl.rollouts import ObsRequirements
from mtml_rl.training.run import Run

NOISE_SEED = 0
"""Seed of the exploration draws; :meth:`PearlAgent.reset` restarts them, so evaluations repeat."""


class PearlAgent:
    """Acts with ``z`` from the posterior over its history window, the context withheld.

    In the first :attr:`explore_episodes` episodes of a trial every slot acts with
    ``z = μ + σ · ε``, one standard-normal ``ε`` drawn per slot and episode and held over
    the episode (posterior sampling: a consistent guess of the task, acted on for a whole
    episode); afterwards with the posterior mean ``μ``. The posterior follows the window,
    which carries over the episodes of a trial, so run it with ``trial_episodes`` equal to
    :attr:`trial_episodes` (the run's).

    :param run: a trained PEARL-style run
    :param explore_episodes: episodes of a trial acted with posterior samples
    """

    privileged = False

    def __init__(self, run: Run, explore_episodes: int = 1) -> None:
        policy = run.model.policy
        assert isinstance(policy, PearlPolicy), "a PEARL-style run trains a PearlPolicy"
        self.run = run
        self.name = run.method.name
        self.extractor = policy.context_extractor
        self.requirements = ObsRequirements("hidden", run.config.history_len)
        self.trial_episodes = run.trial_episodes
        self.explore_episodes = explore_episodes
        self._episode = np.zeros(0, dtype=np.int64)
        self._draws = np.zeros((0, self.extractor.latent_dim), dtype=np.float32)
        self._rng = np.random.default_rng(NOISE_SEED)

    def reset(self, num_envs: int) -> None:
        """New trials everywhere: first episodes, fresh draws (from :data:`NOISE_SEED`)."""
        self._rng = np.random.default_rng(NOISE_SEED)
        self._episode = np.zeros(num_envs, dtype=np.int64)
        self._draws = self._draw(num_envs)

    def _draw(self, n: int) -> np.ndarray:
        return self._rng.standard_normal((n, self.extractor.latent_dim)).astype(np.float32)

    def noise(self) -> np.ndarray:
        """``(N, L)``: each slot's held draw while it explores, zeros (the mean) after."""
        exploring = self._episode < self.explore_episodes
        return self._draws * exploring[:, None]

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions with ``z = μ + σ · noise`` (``deterministic`` concerns the action, not ``z``)."""
        self.extractor.noise = th.as_tensor(self.noise())
        try:
            return self.run.act(obs, deterministic)
        finally:
            self.extractor.noise = None

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Count the episodes of each slot's trial; draw anew where an episode starts."""
        self._episode[dones] += 1
        self._episode[trial_starts] = 0
        if dones.any():
            self._draws[dones] = self._draw(int(dones.sum()))
