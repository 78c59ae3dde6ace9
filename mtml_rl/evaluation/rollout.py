"""Episodic rollouts of a policy on a list of tasks, batched in one vector env."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.tasks.spec import TaskSpec
from mtml_rl.tasks.task import Task

PolicyFn = Callable[[Any], np.ndarray]
"""Maps a batch of observations to a batch of actions."""


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode.

    :param task: the task it ran
    :param episode: its index among the task's episodes (0-based)
    :param ret: the undiscounted return
    :param length: the number of steps
    :param success: whether it ended in success (``None`` where undefined)
    """

    task: Task
    episode: int
    ret: float
    length: int
    success: bool | None


def rollout_tasks(
    policy: PolicyFn,
    spec: TaskSpec | str,
    tasks: Sequence[Task],
    *,
    episodes: int = 1,
    seed: int = 0,
    context: str = "hidden",
    history_len: int = 0,
) -> list[EpisodeRecord]:
    """Run ``episodes`` episodes of every task, one vector-env slot per task.

    Slot ``i`` is seeded with ``seed + i``, so each task's episodes start from distinct,
    reproducible initial states.
    """
    venv = MultiTaskVectorEnv(spec, num_envs=len(tasks), tasks=list(tasks), context=context,
                              history_len=history_len)
    obs, _ = venv.reset(seed=seed)
    n = len(tasks)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    records: list[EpisodeRecord] = []
    while counts.min() < episodes:
        obs, reward, terminated, truncated, info = venv.step(policy(obs))
        returns += reward
        lengths += 1
        for i in np.flatnonzero(terminated | truncated):
            if counts[i] < episodes:
                success = info["final_is_success"][i] if "final_is_success" in info else None
                records.append(EpisodeRecord(tasks[i], int(counts[i]), float(returns[i]), int(lengths[i]),
                                             None if success is None else bool(success)))
            counts[i] += 1
            returns[i] = 0.0
            lengths[i] = 0
    venv.close()
    return sorted(records, key=lambda r: (tasks.index(r.task), r.episode))
