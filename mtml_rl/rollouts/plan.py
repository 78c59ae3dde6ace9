"""Which task and trials every slot of a rollout's vector env plays (:class:`SlotPlan`).

The protocol every rollout keeps: task ``i`` of a list is reset with seed ``seed + i``, and
its episodes follow each other in that slot's random streams (episode ``j`` starts from the
``j``-th initial state the seed gives). Two layouts play it:

- *sequential*: one slot per task, playing all its trials one after another;
- *parallel*: one slot per (task, trial), the slot's initial-state stream advanced past the
  episodes of the trials before it, so trial ``t`` of task ``i`` starts exactly where it
  would in the sequential layout.

The parallel layout needs a family whose episodes start independently of how earlier ones
were played (:func:`~mtml_rl.envs.factory.episodes_start_independently`: every numpy family,
whose dynamics draw no random numbers); it plays the same episodes in fewer, wider steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mtml_rl.envs.factory import episodes_start_independently
from mtml_rl.specs.spec import TaskSpec


@dataclass(frozen=True)
class SlotPlan:
    """The slots of a rollout of ``trials`` trials of ``trial_episodes`` episodes per task.

    :param task_index: ``(S,)`` the index (in the rollout's task list) of each slot's task
    :param first_trial: ``(S,)`` the trial each slot plays first
    :param trials: trials each slot plays, one after another
    :param trial_episodes: episodes per trial
    :param seed: the rollout's base seed (task ``i`` uses ``seed + i``)
    """

    task_index: np.ndarray
    first_trial: np.ndarray
    trials: int
    trial_episodes: int
    seed: int

    @property
    def num_slots(self) -> int:
        """Slots of the vector env."""
        return len(self.task_index)

    @property
    def episodes(self) -> int:
        """Episodes each slot plays."""
        return self.trials * self.trial_episodes

    @property
    def parallel(self) -> bool:
        """Whether some slot starts after the first trial (the parallel layout)."""
        return bool(self.first_trial.any())

    def seeds(self) -> list[int]:
        """Each slot's reset seed: ``seed + i`` for task ``i``."""
        return [self.seed + int(i) for i in self.task_index]

    def skips(self) -> np.ndarray:
        """Episodes each slot's initial-state stream is advanced past before its first trial."""
        return self.first_trial * self.trial_episodes

    def episode_index(self, slot: int, k: int) -> int:
        """The task's episode index of the ``k``-th episode played in ``slot``."""
        return int(self.first_trial[slot]) * self.trial_episodes + k


def sequential_plan(n_tasks: int, trials: int, trial_episodes: int, seed: int) -> SlotPlan:
    """One slot per task, playing its ``trials`` trials one after another."""
    return SlotPlan(
        np.arange(n_tasks, dtype=np.int64), np.zeros(n_tasks, dtype=np.int64), trials, trial_episodes, seed
    )


def parallel_plan(n_tasks: int, trials: int, trial_episodes: int, seed: int) -> SlotPlan:
    """One slot per (trial, task): slot ``t * n_tasks + i`` plays trial ``t`` of task ``i``."""
    task_index = np.tile(np.arange(n_tasks, dtype=np.int64), trials)
    first_trial = np.repeat(np.arange(trials, dtype=np.int64), n_tasks)
    return SlotPlan(task_index, first_trial, 1, trial_episodes, seed)


def plan_slots(
    spec: TaskSpec | str,
    n_tasks: int,
    *,
    trials: int,
    trial_episodes: int,
    seed: int,
    deterministic: bool = True,
) -> SlotPlan:
    """The fastest layout that plays exactly the sequential one's episodes: parallel trials
    where the family's episodes start independently of play and actions are deterministic,
    else one slot per task (sampled actions draw from one generator slot after slot, so
    which action a slot samples depends on the layout)."""
    if trials > 1 and deterministic and episodes_start_independently(spec):
        return parallel_plan(n_tasks, trials, trial_episodes, seed)
    return sequential_plan(n_tasks, trials, trial_episodes, seed)


def start_slots(venv: Any, plan: SlotPlan) -> Any:
    """Reset ``venv`` to the plan: slot seeds, then each slot's stream advanced past the
    episodes it skips (one masked reset per skipped episode); returns the observation."""
    if not plan.parallel:
        obs, _ = venv.reset(seed=plan.seed)  # slot i (task i) gets seed + i
        return obs
    obs, _ = venv.reset(seed=plan.seeds())
    skips = plan.skips()
    for done in range(int(skips.max())):
        obs, _ = venv.reset(options={"reset_mask": skips > done})
    return obs
