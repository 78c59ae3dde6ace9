"""The deployed agent of a multi-task method: it is given the task id, and nothing else of the
task (the methods that need a task id: ``onehot``, ``multihead``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mtml_rl.agents.policy import PolicyAgent
from mtml_rl.envs.observation import task_id_index
from mtml_rl.rollouts import ObsRequirements
from mtml_rl.training.run import Run


class TaskIdAgent(PolicyAgent):
    """A policy trained on the task id, deployed with it: the environment shows the context
    (``privileged`` layout), and every entry but the task id's one-hot is replaced by NaN
    before the policy acts, so a policy that read a task's positions would act on NaN.

    Multi-task RL evaluates on the training tasks with their identity known; the agent is not
    the privileged reference (``privileged`` is false: results are not normalized by it).

    :param run: a run of a method that needs a task id
    """

    privileged = False

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.privileged = False
        layout = run.layout
        self.requirements = ObsRequirements("privileged", layout.history_len)
        self.task_id = np.array(task_id_index(run.spec), dtype=np.int64)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions from the observation with the task id and no other context entry."""
        context = np.full_like(obs["context"], np.nan)
        context[:, self.task_id] = obs["context"][:, self.task_id]
        return self.run.act({**obs, "context": context}, deterministic)
