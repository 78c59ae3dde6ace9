"""Agents that evaluation adds: the uniform random baseline and an instrumenting wrapper.

:class:`InstrumentedAgent` wraps any :class:`~mtml_rl.rollouts.agent.Agent` without changing
what it sees or does. It reports each task whose episodes are all done (for a progress bar)
and, for agents that offer a latent probe (``adapt``), measures the latent error ``|ẑ − z|``
at every step. The true context it needs for ``z`` comes from the task list it is given (slot ``i``
runs ``tasks[i]``), never from the environment, which keeps withholding it from the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from gymnasium import spaces

from mtml_rl.rollouts import Agent, ObsRequirements
from mtml_rl.tasks.task import Task


class RandomAgent:
    """Uniform random actions, seeded: the ``R_random`` of normalized scores.

    :param action_space: the family's single-slot action space
    :param seed: seed of the action sampler
    """

    name = "random"
    privileged = False
    requirements = ObsRequirements("hidden", 0)

    def __init__(self, action_space: spaces.Space, seed: int) -> None:
        self.space = action_space
        self.space.seed(seed)

    def reset(self, num_envs: int) -> None:
        """Stateless."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """One uniform sample per slot."""
        return np.stack([np.asarray(self.space.sample()) for _ in range(len(obs))])

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless."""


class LatentProbe(Protocol):
    """Measures the latent error ``|ẑ − z|`` of every slot at each step (see
    :class:`mtml_rl.adaptation.probe.LatentProbe`)."""

    def errors(self, obs: Any) -> np.ndarray:
        """``(N,)`` latent errors of the current step."""


def baseline_errors(probe: LatentProbe | None) -> np.ndarray | None:
    """``(N,)`` errors of the probe's best constant guess (its ``mean_latent_errors()``, where it
    offers one), the baseline the latent error is read against; ``None`` otherwise."""
    measure = getattr(probe, "mean_latent_errors", None)
    return np.asarray(measure(), dtype=np.float64) if callable(measure) else None


def latent_probe(agent: Agent, tasks: Sequence[Task]) -> LatentProbe | None:
    """The agent's latent-error probe over ``tasks`` if it offers one (an agent that acts with
    an estimated latent implements ``latent_probe(tasks)``), else ``None``."""
    make = getattr(agent, "latent_probe", None)
    return make(tasks) if callable(make) else None


class InstrumentedAgent:
    """Forwards everything to ``agent``; counts finished episodes and records latent errors.

    :param agent: the agent
    :param num_tasks: slots (one task each)
    :param total: episodes each slot must finish
    :param probe: measures the latent error at each step (``None``: not measured)
    :param on_task_done: called with 1 whenever a slot finishes its ``total`` episodes
    """

    def __init__(
        self,
        agent: Agent,
        num_tasks: int,
        total: int,
        probe: LatentProbe | None = None,
        on_task_done: Callable[[int], None] | None = None,
    ) -> None:
        self.agent = agent
        self.name = agent.name
        self.privileged = agent.privileged
        self.requirements = agent.requirements
        self.total = total
        self.probe = probe
        self.on_task_done = on_task_done
        self.counts = np.zeros(num_tasks, dtype=np.int64)
        self._current: list[list[float]] = [[] for _ in range(num_tasks)]
        self.latent: list[list[tuple[float, ...]]] = [[] for _ in range(num_tasks)]
        """Per slot, the latent errors of each of its first ``total`` episodes."""

    def reset(self, num_envs: int) -> None:
        """Forwarded."""
        self.agent.reset(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Forwarded (after measuring the latent error on the same observation)."""
        if self.probe is not None:
            for i, err in enumerate(self.probe.errors(obs).tolist()):
                self._current[i].append(err)
        return self.agent.act(obs, deterministic)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Forwarded; closes the episodes that ended."""
        self.agent.observe(actions, rewards, dones, trial_starts)
        for i in np.flatnonzero(dones).tolist():
            if self.counts[i] < self.total:
                self.latent[i].append(tuple(self._current[i]))
                self.counts[i] += 1
                if self.counts[i] == self.total and self.on_task_done is not None:
                    self.on_task_done(1)
            self._current[i] = []
