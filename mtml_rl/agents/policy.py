"""Agents backed by a trained run's SB3 policy: deployed as trained, or acting with ``ẑ``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule, acting_with
from mtml_rl.adaptation.probe import LatentProbe
from mtml_rl.errors import CheckpointError
from mtml_rl.rollouts import ObsRequirements
from mtml_rl.tasks.task import Task
from mtml_rl.training import rundir
from mtml_rl.training.run import Run


class PolicyAgent:
    """A policy deployed exactly as it was trained (``dr``, ``history``; ``oracle`` is privileged).

    :param run: the trained run
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.name = run.method.name
        layout = run.method.layout(run.config)
        self.privileged = layout.context == "privileged"
        self.requirements = ObsRequirements(layout.context, layout.history_len)

    def reset(self, num_envs: int) -> None:
        """Stateless: nothing to forget."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The policy's actions (observations normalized as in training)."""
        return self.run.act(obs, deterministic)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless: the history window, if any, is in the observation."""


def _load_module(run: Run) -> AdaptationModule:
    """The run's adaptation module, once ``final/``'s manifest vouches for it (phase 2 adds
    it to the manifest when it finishes)."""
    final = run.path / "final"
    if not (final / MODULE_FILE).is_file():
        raise CheckpointError(
            f"{final / MODULE_FILE} is missing; the adapt run has no trained adaptation module (was "
            f"phase 2 finished? `mtml-rl train --resume {run.path}` finishes it)"
        )
    rundir.verify_folder(final, run.path, (MODULE_FILE,))
    return AdaptationModule.load(final / MODULE_FILE)


class AdaptAgent:
    """The deployed ``adapt`` policy: acts with ``ẑ = AdaptationModule(history)``.

    Its environment withholds the context (``hidden``). The policy network was trained
    with a ``context`` entry, so the agent fills that entry with NaN: nothing downstream
    reads it while the adaptation module supplies ``z``, and a NaN would show if it did.

    Run it with ``trial_episodes`` equal to :attr:`trial_episodes` (the run's) to deploy
    it as trained: the history window then carries over the episodes of a trial.

    :param run: an ``adapt`` run whose phase 2 has finished
    :param module: its adaptation module (loaded from the run if omitted)
    """

    privileged = False

    def __init__(self, run: Run, module: AdaptationModule | None = None) -> None:
        self.run = run
        self.name = run.method.name
        self.module = module if module is not None else _load_module(run)
        self.requirements = ObsRequirements("hidden", run.config.history_len)
        self.trial_episodes = run.trial_episodes
        space = run.model.observation_space
        self.context_dim = int(space["context"].shape[0])  # type: ignore[index]

    def reset(self, num_envs: int) -> None:
        """Stateless: the history window is in the observation."""

    def _with_context_slot(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = obs["obs"].shape[0]
        return {**obs, "context": np.full((n, self.context_dim), np.nan, dtype=np.float32)}

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions with ``z`` estimated from the history window."""
        full = self._with_context_slot(obs)
        if self.run.normalizer is not None:
            full = self.run.normalizer.normalize_obs(full)  # type: ignore[assignment]
        with acting_with(self.run.model.policy, self.module):
            actions, _ = self.run.model.predict(full, deterministic=deterministic)
        return np.asarray(actions)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless: the history window is in the observation."""

    def latent_probe(self, tasks: Sequence[Task]) -> LatentProbe:
        """Measures ``|ẑ − z|`` on slots running ``tasks`` (evaluation's latent-error curves)."""
        return LatentProbe(self.run.model, self.run.normalizer, self.module, self.run.spec, tasks)
