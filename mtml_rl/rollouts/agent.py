"""The agent Protocol: what rollouts and evaluation depend on, and what a user's own agent
implements.

A rollout builds environments to the agent's :class:`ObsRequirements` (the
context is withheld unless the agent is ``privileged``), calls :meth:`Agent.reset` at
the start of every trial, :meth:`Agent.act` on each batch of observations and
:meth:`Agent.observe` with the resulting transitions. Agents that adapt by training
(``finetune``) implement :meth:`Agent.adapt`, called once per task before its episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


@dataclass(frozen=True)
class ObsRequirements:
    """The observation layout an agent needs from the environment.

    :param context: ``hidden`` for every deployed agent; ``privileged`` only for agents
        that are by definition given the true task (the oracle upper bound)
    :param history_len: transitions of history in the observation (0: none)
    """

    context: str = "hidden"
    history_len: int = 0


@runtime_checkable
class Agent(Protocol):
    """An agent that acts on batches of observations of ``num_envs`` parallel episodes."""

    name: str
    """The method's name (``dr``, ``adapt`` ...)."""
    privileged: bool
    """Whether the agent reads the true context (only the oracle upper bound does)."""
    requirements: ObsRequirements
    """What the environment must show it."""

    def reset(self, num_envs: int) -> None:
        """Forget everything about the previous trial (a new task starts in every slot)."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations."""

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """The transitions that followed the last :meth:`act` (for agents with memory).

        :param actions: the actions taken
        :param rewards: the rewards received
        :param dones: which slots' episodes ended (their next observation starts a new one)
        :param trial_starts: which slots start a new trial (a new task): forget them
        """


@runtime_checkable
class AdaptingAgent(Agent, Protocol):
    """An agent with an explicit adapt step (e.g. fine-tuning) before acting on a task."""

    def adapt(self, spec: TaskSpec, task: Task, seed: int) -> None:
        """Adapt to ``task`` (may interact with it); called before the task's episodes."""


def has_adapt_step(agent: Agent) -> bool:
    """Whether ``agent`` implements the optional adapt step."""
    return callable(getattr(agent, "adapt", None))
