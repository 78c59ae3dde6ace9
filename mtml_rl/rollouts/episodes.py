"""Episodic rollouts of a policy (or an :class:`~mtml_rl.rollouts.agent.Agent`) on a list of
tasks, batched in one vector env."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.rollouts.agent import Agent
from mtml_rl.specs.spec import TaskSpec, resolve_spec
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


def slot_limit(spec: TaskSpec | str) -> int | None:
    """The most slots one vector env of ``spec`` should hold (its family's ``max_slots``;
    ``None``: no limit): longer task lists are rolled out in chunks, task ``i`` still seeded
    with ``seed + i``."""
    return getattr(resolve_spec(spec).family_cls, "max_slots", None)


def chunks(tasks: Sequence[Task], limit: int | None) -> list[tuple[int, Sequence[Task]]]:
    """``(start, tasks[start:start + limit])`` pieces of a task list (one piece without a limit)."""
    if limit is None or len(tasks) <= limit:
        return [(0, tasks)]
    return [(start, tasks[start : start + limit]) for start in range(0, len(tasks), limit)]


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
    reproducible initial states. Families with a slot limit run in chunks (:func:`slot_limit`).
    """
    pieces = chunks(tasks, slot_limit(spec))
    if len(pieces) > 1:
        return [
            record
            for start, part in pieces
            for record in rollout_tasks(
                policy,
                spec,
                part,
                episodes=episodes,
                seed=seed + start,
                context=context,
                history_len=history_len,
            )
        ]
    venv = make_task_vector_env(
        spec, num_envs=len(tasks), tasks=list(tasks), context=context, history_len=history_len
    )
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
        for i in np.flatnonzero(terminated | truncated).tolist():
            if counts[i] < episodes:
                success = info["final_is_success"][i] if "final_is_success" in info else None
                records.append(
                    EpisodeRecord(
                        tasks[i],
                        int(counts[i]),
                        float(returns[i]),
                        int(lengths[i]),
                        None if success is None else bool(success),
                    )
                )
            counts[i] += 1
            returns[i] = 0.0
            lengths[i] = 0
    venv.close()
    return sorted(records, key=lambda r: (tasks.index(r.task), r.episode))


@dataclass(frozen=True)
class TrialEpisode:
    """One finished episode of an agent's trial.

    :param task: the task
    :param trial: the trial's index among the task's trials
    :param episode: the episode's index within its trial
    :param ret: the undiscounted return
    :param length: steps
    :param success: success flag where defined
    :param rewards: the per-step rewards
    """

    task: Task
    trial: int
    episode: int
    ret: float
    length: int
    success: bool | None
    rewards: tuple[float, ...]


def rollout_agent(
    agent: Agent,
    spec: TaskSpec | str,
    tasks: Sequence[Task],
    *,
    trials: int = 1,
    trial_episodes: int = 1,
    seed: int = 0,
    deterministic: bool = True,
) -> list[TrialEpisode]:
    """Run ``trials`` trials of ``trial_episodes`` episodes of every task with an agent.

    The environment is built to the agent's requirements (context withheld unless the
    agent is privileged); slot ``i`` runs ``tasks[i]`` with reset seed ``seed + i``.
    """
    req = agent.requirements
    venv = make_task_vector_env(
        spec,
        num_envs=len(tasks),
        tasks=list(tasks),
        context=req.context,
        history_len=req.history_len,
        trial_episodes=trial_episodes,
    )
    obs, _ = venv.reset(seed=seed)
    agent.reset(len(tasks))
    n, total = len(tasks), trials * trial_episodes
    counts = np.zeros(n, dtype=np.int64)
    rewards: list[list[float]] = [[] for _ in range(n)]
    out: list[TrialEpisode] = []
    while counts.min() < total:
        actions = agent.act(obs, deterministic=deterministic)
        obs, reward, terminated, truncated, info = venv.step(actions)
        dones = terminated | truncated
        trial_starts = dones & (venv.slots.episode_in_trial == 0)
        agent.observe(actions, reward, dones, trial_starts)
        for i in range(n):
            rewards[i].append(float(reward[i]))
        for i in np.flatnonzero(dones).tolist():
            if counts[i] < total:
                success = info["final_is_success"][i] if "final_is_success" in info else None
                k = int(counts[i])
                out.append(
                    TrialEpisode(
                        tasks[i],
                        k // trial_episodes,
                        k % trial_episodes,
                        float(sum(rewards[i])),
                        len(rewards[i]),
                        None if success is None else bool(success),
                        tuple(rewards[i]),
                    )
                )
            counts[i] += 1
            rewards[i] = []
    venv.close()
    return out
