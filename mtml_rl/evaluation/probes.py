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

from mtml_rl.rollouts import Agent, ObsRequirements, SlotPlan
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
    :param plan: the rollout's slots (which task each plays, and how many episodes)
    :param probe: measures the latent error at each step (``None``: not measured)
    :param on_task_done: called with 1 whenever every slot of a task has played its episodes
    """

    def __init__(
        self,
        agent: Agent,
        plan: SlotPlan,
        probe: LatentProbe | None = None,
        on_task_done: Callable[[int], None] | None = None,
    ) -> None:
        self.agent = agent
        self.name = agent.name
        self.privileged = agent.privileged
        self.requirements = agent.requirements
        self.plan = plan
        self.probe = probe
        self.on_task_done = on_task_done
        self.counts = np.zeros(plan.num_slots, dtype=np.int64)
        self._slots_left = np.bincount(plan.task_index).astype(np.int64)
        self._errors: list[np.ndarray] = []
        self._starts = np.zeros(plan.num_slots, dtype=np.int64)
        self._ended: list[tuple[int, int, int, int]] = []
        self.latent: dict[tuple[int, int], tuple[float, ...]] = {}
        """The latent errors of every played episode by ``(task index, episode index)``
        (filled by :meth:`finish`)."""

    def reset(self, num_envs: int) -> None:
        """Forwarded."""
        self.agent.reset(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Forwarded (after measuring the latent error on the same observation)."""
        if self.probe is not None:
            self._errors.append(np.asarray(self.probe.errors(obs), dtype=np.float64))
        return self.agent.act(obs, deterministic)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Forwarded; closes the episodes that ended."""
        self.agent.observe(actions, rewards, dones, trial_starts)
        step = len(self._errors)
        quota = self.plan.episodes
        for i in np.flatnonzero(dones).tolist():
            if self.counts[i] < quota:
                self._ended.append((i, int(self.counts[i]), int(self._starts[i]), step))
                self.counts[i] += 1
                if self.counts[i] == quota:
                    self._slot_done(i)
            self._starts[i] = step

    def _slot_done(self, slot: int) -> None:
        task = int(self.plan.task_index[slot])
        self._slots_left[task] -= 1
        if self._slots_left[task] == 0 and self.on_task_done is not None:
            self.on_task_done(1)

    def finish(self) -> None:
        """Cut the recorded latent errors into episodes (:attr:`latent`)."""
        if self.probe is None:
            return
        table = np.stack(self._errors) if self._errors else np.zeros((0, self.plan.num_slots))
        for slot, k, start, stop in self._ended:
            key = (int(self.plan.task_index[slot]), self.plan.episode_index(slot, k))
            self.latent[key] = tuple(table[start:stop, slot].tolist())
