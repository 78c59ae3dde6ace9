"""The rollout every evaluation ran before trials were laid out over slots (kept verbatim as
a reference): one vector-env slot per task, playing the task's trials one after another.

Tests compare the current rollouts against it on the same seeds: the same episodes, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.rollouts import Agent, TrialEpisode
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


def previous_rollout_agent(
    agent: Agent,
    spec: TaskSpec | str,
    tasks: Sequence[Task],
    *,
    trials: int = 1,
    trial_episodes: int = 1,
    seed: int = 0,
    deterministic: bool = True,
) -> list[TrialEpisode]:
    """``trials`` trials of ``trial_episodes`` episodes of every task, slot ``i`` running
    ``tasks[i]`` with reset seed ``seed + i`` (sorted by task, trial and episode)."""
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
    index = {task: i for i, task in enumerate(tasks)}
    return sorted(out, key=lambda e: (index[e.task], e.trial, e.episode))
