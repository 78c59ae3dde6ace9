"""Episodic rollouts of a policy (or an :class:`~mtml_rl.rollouts.agent.Agent`) on a list of
tasks, batched in one vector env.

Task ``i`` of the list is reset with seed ``seed + i`` and its episodes follow each other in
that seed's streams; :mod:`mtml_rl.rollouts.plan` lays the episodes out over slots (one slot
per task, or one per trial where the family allows it), which changes how fast they are
played, never what is played.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.rollouts.agent import AdaptingAgent, Agent, ObsRequirements, has_adapt_step
from mtml_rl.rollouts.plan import SlotPlan, plan_slots, start_slots
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


@dataclass(frozen=True)
class _Ended:
    """An episode that ended in ``slot``: the ``k``-th the slot played, steps ``[start, stop)``."""

    slot: int
    k: int
    start: int
    stop: int
    success: bool | None


class _Tracker:
    """Per-step rewards of every slot and the steps where each slot's episodes end."""

    def __init__(self, num_slots: int, quota: int) -> None:
        self.quota = quota
        self.rewards: list[np.ndarray] = []
        self.counts = np.zeros(num_slots, dtype=np.int64)
        self.starts = np.zeros(num_slots, dtype=np.int64)
        self.ended: list[_Ended] = []

    @property
    def finished(self) -> bool:
        """Whether every slot has played its quota of episodes."""
        return bool(self.counts.min() >= self.quota)

    def record(self, reward: np.ndarray, dones: np.ndarray, info: dict[str, Any]) -> None:
        """One step's rewards; close the episodes that ended with it."""
        self.rewards.append(np.array(reward, dtype=np.float64))
        step = len(self.rewards)
        success = info.get("final_is_success")
        for i in np.flatnonzero(dones).tolist():
            if self.counts[i] < self.quota:
                flag = None if success is None else bool(success[i])
                self.ended.append(_Ended(i, int(self.counts[i]), int(self.starts[i]), step, flag))
            self.counts[i] += 1
            self.starts[i] = step

    def episode_rewards(self) -> list[tuple[float, ...]]:
        """The rewards of every ended episode, in the order of :attr:`ended`."""
        table = np.stack(self.rewards) if self.rewards else np.zeros((0, len(self.counts)))
        return [tuple(table[e.start : e.stop, e.slot].tolist()) for e in self.ended]


def play_plan(
    agent: Agent,
    spec: TaskSpec | str,
    tasks: Sequence[Task],
    plan: SlotPlan,
    *,
    deterministic: bool = True,
) -> list[TrialEpisode]:
    """Play ``plan`` with ``agent`` (its env built to the agent's requirements); every episode,
    sorted by task, trial and episode."""
    req = agent.requirements
    venv = make_task_vector_env(
        spec,
        num_envs=plan.num_slots,
        tasks=[tasks[i] for i in plan.task_index.tolist()],
        context=req.context,
        history_len=req.history_len,
        trial_episodes=plan.trial_episodes,
    )
    obs = start_slots(venv, plan)
    agent.reset(plan.num_slots)
    tracker = _Tracker(plan.num_slots, plan.episodes)
    while not tracker.finished:
        actions = agent.act(obs, deterministic=deterministic)
        obs, reward, terminated, truncated, info = venv.step(actions)
        dones = terminated | truncated
        agent.observe(actions, reward, dones, dones & (venv.slots.episode_in_trial == 0))
        tracker.record(reward, dones, info)
    venv.close()
    return _trial_episodes(tasks, plan, tracker)


def _trial_episodes(tasks: Sequence[Task], plan: SlotPlan, tracker: _Tracker) -> list[TrialEpisode]:
    out = []
    k = plan.trial_episodes
    for e, rewards in zip(tracker.ended, tracker.episode_rewards(), strict=True):
        n = plan.episode_index(e.slot, e.k)
        task = int(plan.task_index[e.slot])
        # the return is summed as before batching (left to right), so it is bit-identical
        out.append(
            (
                task,
                TrialEpisode(
                    tasks[task], n // k, n % k, float(sum(rewards)), len(rewards), e.success, rewards
                ),
            )
        )
    out.sort(key=lambda pair: (pair[0], pair[1].trial, pair[1].episode))
    return [episode for _, episode in out]


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
    agent is privileged); ``tasks[i]`` is reset with seed ``seed + i`` and its episodes follow
    each other in that seed's streams. Where the family allows it and actions are
    deterministic, every trial plays in a slot of its own
    (:func:`~mtml_rl.rollouts.plan.plan_slots`): the same episodes, in fewer and wider steps.
    Families with a slot limit run in chunks of tasks (:func:`slot_limit`). Episodes come
    sorted by task, trial and episode. An agent with an adapt step
    (:class:`~mtml_rl.rollouts.agent.AdaptingAgent`, e.g. ``finetune``'s) is adapted to each
    task first, with the task's seed, and plays the tasks one at a time, as evaluation does.
    """
    if not tasks:
        return []
    if has_adapt_step(agent):
        return _rollout_adapting(
            cast("AdaptingAgent", agent), spec, tasks, trials, trial_episodes, seed, deterministic
        )
    out: list[TrialEpisode] = []
    for start, part in chunks(tasks, slot_limit(spec)):  # task i still seeded seed + i
        plan = plan_slots(
            spec,
            len(part),
            trials=trials,
            trial_episodes=trial_episodes,
            seed=seed + start,
            deterministic=deterministic,
        )
        out += play_plan(agent, spec, part, plan, deterministic=deterministic)
    return out


def _rollout_adapting(
    agent: AdaptingAgent,
    spec: TaskSpec | str,
    tasks: Sequence[Task],
    trials: int,
    trial_episodes: int,
    seed: int,
    deterministic: bool,
) -> list[TrialEpisode]:
    """:func:`rollout_agent` for an agent that adapts to each task before acting on it."""
    resolved = resolve_spec(spec)
    out: list[TrialEpisode] = []
    for i, task in enumerate(tasks):
        agent.adapt(resolved, task, seed + i)
        plan = plan_slots(
            resolved,
            1,
            trials=trials,
            trial_episodes=trial_episodes,
            seed=seed + i,
            deterministic=deterministic,
        )
        out += play_plan(agent, resolved, [task], plan, deterministic=deterministic)
    return out


class _PolicyAgent:
    """A stateless :class:`Agent` over a policy function (for :func:`rollout_tasks`)."""

    name = "policy"
    privileged = False

    def __init__(self, policy: PolicyFn, requirements: ObsRequirements) -> None:
        self.policy = policy
        self.requirements = requirements

    def reset(self, num_envs: int) -> None:
        """Stateless."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The policy's actions."""
        return self.policy(obs)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless."""


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
    """Run ``episodes`` episodes of every task with a stateless policy, sorted by task.

    ``tasks[i]`` is reset with seed ``seed + i``, so each task's episodes start from distinct,
    reproducible initial states (the ``j``-th that seed gives), however they are batched.
    """
    agent = _PolicyAgent(policy, ObsRequirements(context, history_len))
    played = rollout_agent(agent, spec, tasks, trials=episodes, seed=seed)
    return [EpisodeRecord(e.task, e.trial, e.ret, e.length, e.success) for e in played]
