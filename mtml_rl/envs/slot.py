"""What every one-slot engine of the single envs shares: the task schedule, the history
window and the assembly of observations.

The single envs (:class:`~mtml_rl.envs.single.MultiTaskEnv` and
:class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv`, both on
:class:`~mtml_rl.envs.task_env.TaskEnv`) step one slot, so they keep its bookkeeping in
Python objects rather than in ``(N, ...)`` arrays: a per-step cost of a few hundred
nanoseconds instead of numpy's per-call overhead. Everything here follows the batched
engines exactly (:class:`~mtml_rl.envs.engine.TaskSlots`): the same task and initial-state
streams, the same task choice, the same float32 history rows, so slot ``i`` of a vector env
reset with seed ``s`` runs what a single env reset with seed ``s + i`` runs.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
from gymnasium import spaces

from mtml_rl.envs.engine import TASK_STREAM_KEY, check_trial_episodes, schedule_with_running
from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.streams import SlotStream
from mtml_rl.errors import TaskError
from mtml_rl.tasks.task import Task

StepResult = tuple[Any, float, bool, bool, dict[str, Any]]
"""What ``Env.step`` returns: observation, reward, terminated, truncated, info."""


class SingleEngine(Protocol):
    """What :class:`~mtml_rl.envs.task_env.TaskEnv` uses of a one-slot engine."""

    layout: ObsLayout
    """The observation layout (spaces)."""
    render_fps: int
    """Frames per second of rendered episodes."""

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        ...

    def seed(self, seed: int) -> None:
        """Reseed the slot's streams (and its simulator at the next reset)."""
        ...

    def current_task(self) -> Task:
        """The running task."""
        ...

    def scheduled_tasks(self) -> tuple[Task, ...]:
        """The tasks the scheduler draws from (a forced task is not one)."""
        ...

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; the slot switches at its next new trial."""
        ...

    def force_task(self, task: Task) -> None:
        """Run ``task`` at the next new trial only."""
        ...

    def reset(self, *, new_trial: bool) -> tuple[Any, dict[str, Any]]:
        """Start an episode (a new trial, or the next episode of the running one)."""
        ...

    def step(self, action: Any) -> StepResult:
        """One transition of the running task."""
        ...

    def render(self) -> Any:
        """An RGB frame of the current state."""
        ...

    def close(self) -> None:
        """Release what the engine holds (simulators)."""
        ...

    def rng_state(self) -> dict[str, Any]:
        """The slot's random state (for checkpoints)."""
        ...

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        ...


class TaskSchedule:
    """The task sequence of one slot, as :class:`~mtml_rl.envs.engine.TaskSlots` keeps it
    for each of its slots (:func:`~mtml_rl.envs.engine.schedule_with_running` and
    :func:`~mtml_rl.envs.engine.choose_tasks`, for slot 0).

    :param tasks: the tasks to schedule
    :param sample: draw a task uniformly at every new trial (else always run ``tasks[0]``)
    :param trial_episodes: episodes per trial (the task is kept for that many resets)
    """

    def __init__(self, tasks: Sequence[Task], *, sample: bool, trial_episodes: int) -> None:
        check_trial_episodes(trial_episodes)
        self.trial_episodes = trial_episodes
        self.stream = SlotStream(1, spawn_key=TASK_STREAM_KEY)
        self.tasks: tuple[Task, ...] = ()
        self.index = 0
        """The index in :attr:`tasks` of the running task."""
        self.episode_in_trial = 0
        self.set_tasks(tasks, sample=sample)

    @property
    def current(self) -> Task:
        """The running task (until the next new trial, even after :meth:`set_tasks`)."""
        return self.tasks[self.index]

    @property
    def scheduled(self) -> tuple[Task, ...]:
        """The tasks the scheduler draws from (a forced task is not one)."""
        return self.tasks[: self.n_scheduled]

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; the running one stays nameable until the next trial."""
        if not tasks:
            raise TaskError("at least one task is needed")
        running = [self.current] if self.tasks else []
        self.tasks, running_index = schedule_with_running(tasks, running)
        self.n_scheduled = len(tasks)
        self.sample = sample
        self.pending: int | None = None
        if running:
            self.index = int(running_index[0])

    def force(self, task: Task) -> None:
        """Run ``task`` at the next new trial only (the scheduler's draw is still consumed)."""
        if task not in self.tasks:
            self.tasks = (*self.tasks, task)
        self.pending = self.tasks.index(task)

    def next_episode(self, *, new_trial: bool) -> bool:
        """Advance to the next episode; returns whether it starts a new trial (a new task)."""
        if not new_trial and self.episode_in_trial < self.trial_episodes - 1:
            self.episode_in_trial += 1
            return False
        self.episode_in_trial = 0
        n = self.n_scheduled
        chosen = 0  # slot 0 of TaskSlots runs tasks[0 % n] when not sampling
        if self.sample:  # the vector engines' choose_tasks: floor(u * n), consumed even if forced
            chosen = min(int(self.stream.draw()[0] * n), n - 1)
        if self.pending is not None:
            chosen, self.pending = self.pending, None
        self.index = chosen
        return True


class ScheduledSlot:
    """The task methods of a :class:`SingleEngine` over a :class:`TaskSchedule`, with the
    per-task values (:class:`TaskValues`) cached by task index.

    :param schedule: the slot's schedule
    :param codec: the spec's context codec
    """

    def __init__(self, schedule: TaskSchedule, codec: ContextCodec) -> None:
        self.schedule = schedule
        self.codec = codec
        self._values_cache: dict[int, TaskValues] = {}

    def current_task(self) -> Task:
        """The running task."""
        return self.schedule.current

    def scheduled_tasks(self) -> tuple[Task, ...]:
        """The tasks the scheduler draws from (a forced task is not one)."""
        return self.schedule.scheduled

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; the slot switches at its next new trial."""
        self.schedule.set_tasks(tasks, sample=sample)
        self._values_cache = {}

    def force_task(self, task: Task) -> None:
        """Run ``task`` at the next new trial only."""
        self.schedule.force(task)

    def task_values(self) -> TaskValues:
        """The running task's :class:`TaskValues` (computed once per task)."""
        index = self.schedule.index
        values = self._values_cache.get(index)
        if values is None:
            values = self._values_cache[index] = task_values(self.schedule.current, self.codec)
        return values


class TaskValues(NamedTuple):
    """What a one-slot engine needs of its running task, computed once per task."""

    task_id: str
    params_dict: dict[str, float]
    context: tuple[float, ...]
    """The normalized context as float32 values (Python floats)."""
    context_array: np.ndarray
    """The same, as a float32 array (copied into privileged observations)."""


def task_values(task: Task, codec: ContextCodec) -> TaskValues:
    """The per-task values of a one-slot engine."""
    context = codec.encode([task])[0]
    return TaskValues(task.id, task.as_dict(), tuple(context.tolist()), context)


class HistoryWindow:
    """The last ``length`` rows ``(obs, action, reward)`` of one slot, oldest first, zeros
    before the episode's start: a ring of float32 rows stored twice, so that the window is
    always one contiguous slice (one copy per step).

    :param length: rows in the window
    :param row_dim: floats per row
    """

    def __init__(self, length: int, row_dim: int) -> None:
        self.length = length
        self.row_dim = row_dim
        self._ring = np.zeros(2 * length * row_dim, dtype=np.float32)
        self._next = 0
        self._attach()

    def _attach(self) -> None:
        self._bytes = self._ring.data.cast("B")
        self._row = struct.Struct(f"{self.row_dim}f")

    def __getstate__(self) -> dict[str, Any]:
        return {"length": self.length, "row_dim": self.row_dim, "ring": self._ring, "next": self._next}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.length, self.row_dim = state["length"], state["row_dim"]
        self._ring, self._next = state["ring"].copy(), state["next"]
        self._attach()

    def clear(self) -> None:
        """Empty the window (a new trial)."""
        self._ring.fill(0.0)
        self._next = 0

    def push(self, row: Sequence[float]) -> None:
        """Append one row (rounded to float32, as numpy casts)."""
        try:
            packed = self._row.pack(*row)
        except OverflowError:  # a value beyond float32's range: numpy's cast gives +-inf
            packed = np.asarray(row, dtype=np.float32).tobytes()
        size, k = self._row.size, self._next
        self._bytes[k * size : (k + 1) * size] = packed
        k2 = k + self.length
        self._bytes[k2 * size : (k2 + 1) * size] = packed
        self._next = (k + 1) % self.length

    def window(self) -> np.ndarray:
        """The flat ``(length * row_dim,)`` window, a fresh array."""
        start = self._next * self.row_dim
        return self._ring[start : start + self.length * self.row_dim].copy()


def action_encoder(space: spaces.Space[Any]) -> Any:
    """How an action enters a history row: one-hot rows by index (Discrete), else ``None``
    (a continuous action's float32 values, clipped to [-1, 1], are the row's entries)."""
    if isinstance(space, spaces.Discrete):
        eye = np.eye(int(space.n), dtype=np.float32)
        return tuple(tuple(row.tolist()) for row in eye)
    return None


def clipped_f32(values: Sequence[float]) -> tuple[float, ...]:
    """Continuous action values as the history stores them: float32, clipped to [-1, 1]."""
    return tuple(np.clip(np.asarray(values, dtype=np.float32), -1.0, 1.0).tolist())
