"""Agents backed by a trained run's SB3 policy: deployed as trained, or acting with ``ẑ``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule, acting_with
from mtml_rl.adaptation.orchestration import changed_settings
from mtml_rl.adaptation.phase2 import act_mixed
from mtml_rl.adaptation.probe import LatentProbe
from mtml_rl.errors import CheckpointError, ConfigError
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
        layout = run.layout
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
    if not (final / MODULE_FILE).is_file() and not run.method.post_training:
        raise ConfigError(
            f"{run.path} is a {run.method.name} run, which trains no adaptation module; "
            f"mtml_rl.agents.load_agent(run) deploys it as {run.method.name} does"
        )
    if not (final / MODULE_FILE).is_file():
        raise CheckpointError(
            f"{final / MODULE_FILE} is missing; the {run.method.name} run has no trained adaptation "
            f"module (was phase 2 finished? `mtml-rl train --resume {run.path}` finishes it)"
        )
    rundir.verify_folder(final, run.path, (MODULE_FILE,))
    changed = changed_settings(run)
    if changed:
        raise CheckpointError(
            f"{run.path / 'config.yaml'} changed since phase 2 trained {final / MODULE_FILE} "
            f"({'; '.join(changed)}); restore it, or train a new run with the new settings"
        )
    return AdaptationModule.load(final / MODULE_FILE)


PROBE_SEED = 0
"""Seed of a probing :class:`AdaptAgent`'s sampled actions; :meth:`AdaptAgent.reset` restarts
it, so evaluations repeat."""
COMMIT_WINDOW = 8
"""Estimates of ``ẑ`` (the last ones of the probe) whose mean a probing agent commits to."""


class AdaptAgent:
    """The deployed ``adapt`` policy: acts with ``ẑ = AdaptationModule(history)``.

    Its environment withholds the context (``hidden``). The policy network was trained
    with a ``context`` entry, so the agent fills that entry with NaN: nothing downstream
    reads it while the adaptation module supplies ``z``, and a NaN would show if it did.

    With ``probe_steps`` ``K > 0`` (the run's ``adapt_probe_steps`` unless given) it explores,
    then commits: for the first ``K`` steps of each trial a slot acts with actions sampled
    from the policy (as in training) and the window's ``ẑ``; from step ``K`` on with its
    mean action and ``z`` fixed at the mean of its last :data:`COMMIT_WINDOW` estimates. A
    task does not change within a trial, so what the probe revealed is kept when the window
    later shows only the policy settled at its goal. The sampled actions come from a random
    stream of the agent's own (:data:`PROBE_SEED`), restarted by :meth:`reset`. With ``K = 0``
    it acts with the mean action and the window's ``ẑ`` at every step.

    Run it with ``trial_episodes`` equal to :attr:`trial_episodes` (the run's) to deploy
    it as trained: the history window then carries over the episodes of a trial.

    :param run: an ``adapt`` run whose phase 2 has finished
    :param module: its adaptation module (loaded from the run if omitted)
    :param probe_steps: steps of each trial that probe (default: the run's ``adapt_probe_steps``)
    """

    privileged = False

    def __init__(
        self, run: Run, module: AdaptationModule | None = None, probe_steps: int | None = None
    ) -> None:
        self.run = run
        self.name = run.method.name
        self.module = module if module is not None else _load_module(run)
        self.requirements = ObsRequirements("hidden", run.config.history_len)
        self.trial_episodes = run.trial_episodes
        self.probe_steps = run.config.adapt_probe_steps if probe_steps is None else probe_steps
        space = run.model.observation_space
        self.context_dim = int(space["context"].shape[0])  # type: ignore[index]
        self.reset(0)

    def reset(self, num_envs: int) -> None:
        """New trials in every slot: probing from its first step, the random stream restarted."""
        latent_dim = int(self.module.mean_latent.shape[0])
        self._rng = np.random.default_rng(PROBE_SEED)
        self._step = np.zeros(num_envs, dtype=np.int64)
        self._recent = np.zeros((num_envs, COMMIT_WINDOW, latent_dim), dtype=np.float32)
        self._committed = np.zeros((num_envs, latent_dim), dtype=np.float32)

    @property
    def probing(self) -> np.ndarray:
        """``(N,)``: which slots probe at the next :meth:`act` (all of them for ``K = 0``: the
        window's estimate at every step)."""
        return np.asarray(self._step < self.probe_steps) | (self.probe_steps == 0)

    def _with_context_slot(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = obs["obs"].shape[0]
        return {**obs, "context": np.full((n, self.context_dim), np.nan, dtype=np.float32)}

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions with ``z`` estimated from the history window (probing first, see above)."""
        full = self._with_context_slot(obs)
        if self.run.normalizer is not None:
            full = self.run.normalizer.normalize_obs(full)  # type: ignore[assignment]
        if self.probe_steps == 0:
            with acting_with(self.run.model.policy, self.module):
                actions, _ = self.run.model.predict(full, deterministic=deterministic)
            return np.asarray(actions)
        probing = self.probing
        latents = self._latents(full["history"], probing)
        sampled = probing | (not deterministic)
        with th.random.fork_rng(devices=[]):
            th.manual_seed(int(self._rng.integers(2**63)))
            return act_mixed(self.run.model, full, sampled, th.as_tensor(latents))

    def _latents(self, history: np.ndarray, probing: np.ndarray) -> np.ndarray:
        """The window's ``ẑ`` where a slot probes, its committed ``z`` elsewhere; a slot at
        its last probing step commits to the mean of its last estimates (the module is not
        run once every slot has committed)."""
        if not probing.any():
            return self._committed.copy()
        with th.no_grad():
            estimates = self.module(th.as_tensor(history, dtype=th.float32)).numpy()
        rows = np.flatnonzero(probing)
        self._recent[rows, self._step[rows] % COMMIT_WINDOW] = estimates[rows]
        last = rows[self._step[rows] == self.probe_steps - 1]
        kept = min(COMMIT_WINDOW, self.probe_steps)
        self._committed[last] = self._recent[last, :kept].mean(axis=1)
        return np.where(probing[:, None], estimates, self._committed)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Count each slot's steps into its trial (the history window is in the observation)."""
        self._step += 1
        self._step[trial_starts] = 0

    def latent_probe(self, tasks: Sequence[Task]) -> LatentProbe:
        """Measures ``|ẑ − z|`` on slots running ``tasks`` (evaluation's latent-error curves)."""
        return LatentProbe(self.run.model, self.run.normalizer, self.module, self.run.spec, tasks)
