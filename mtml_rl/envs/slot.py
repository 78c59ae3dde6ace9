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

import functools
import struct
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

import numpy as np
from gymnasium import spaces

from mtml_rl.envs.engine import TASK_STREAM_KEY, check_trial_episodes, schedule_with_running
from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.streams import SlotStream
from mtml_rl.errors import TaskError
from mtml_rl.tasks.params import ParamValue
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


E = TypeVar("E")


class ScheduledSlot(ABC, Generic[E]):
    """The task methods of a :class:`SingleEngine` over a :class:`TaskSchedule`, and what
    the engine needs of each task (an *entry*, :meth:`_entry`) computed once per task.

    :param schedule: the slot's schedule
    :param codec: the spec's context codec
    """

    def __init__(self, schedule: TaskSchedule, codec: ContextCodec) -> None:
        self.schedule = schedule
        self.codec = codec
        self._entries: dict[int, E] = {}

    @abstractmethod
    def _entry(self, task: Task) -> E:
        """What the engine needs of ``task`` (parameters, context, ``info`` values)."""

    def running_entry(self) -> E:
        """The running task's entry (computed at its first trial, then looked up)."""
        index = self.schedule.index
        entry = self._entries.get(index)
        if entry is None:
            entry = self._entries[index] = self._entry(self.schedule.current)
        return entry

    def current_task(self) -> Task:
        """The running task."""
        return self.schedule.current

    def scheduled_tasks(self) -> tuple[Task, ...]:
        """The tasks the scheduler draws from (a forced task is not one)."""
        return self.schedule.scheduled

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; the slot switches at its next new trial."""
        self.schedule.set_tasks(tasks, sample=sample)
        self._entries = {}  # the indices name other tasks now

    def force_task(self, task: Task) -> None:
        """Run ``task`` at the next new trial only."""
        self.schedule.force(task)


@dataclass(frozen=True, slots=True)
class TaskValues:
    """What a one-slot engine needs of its running task, computed once per task (slots: a
    simulator step reads two of them, which a slot reads faster than a ``NamedTuple``
    field)."""

    task_id: str
    params_dict: dict[str, ParamValue]
    """The parameter values, never handed out: each reset's and step's ``info`` gets a new
    read-only :class:`~mtml_rl.tasks.frozen.FrozenParams` of them (built from a plain dict: a
    third less time than from another ``FrozenParams``)."""
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
    before the episode's start.

    The rows are float32 in a buffer of ``2 * length`` rows, the window being the ``length``
    rows before the end mark: appending writes one row, and once the buffer is full the
    newest ``length - 1`` rows move to its front (one block copy every ``length`` steps), so
    the window is always one contiguous slice, copied once per step.

    :meth:`begin` and :meth:`record` are the same bookkeeping for a caller that hands out
    the observation too: the newest observation waits in the buffer as the start of the
    next row (one row past the buffer's ``2 * length``), so that a step writes the
    transition's action, reward and next observation with one pack and copies the window
    and the observation out of the buffer.

    :param length: rows in the window
    :param row_dim: floats per row
    """

    def __init__(self, length: int, row_dim: int) -> None:
        self.length = length
        self.row_dim = row_dim
        self._buffer = np.zeros((2 * length + 1) * row_dim, dtype=np.float32)
        """``2 * length`` rows, and one more whose start holds the observation :meth:`begin`
        or :meth:`record` left waiting when the buffer is full."""
        self._end = length
        self._attach()

    def _attach(self) -> None:
        length, row_dim, size = self.length, self.row_dim, self.length * self.row_dim
        row_bytes = 4 * row_dim
        self._bytes = self._buffer.data.cast("B")
        stops = [end * row_dim for end in range(2 * length + 1)]
        self._windows = [self._buffer[max(stop - size, 0) : stop] for stop in stops]
        """Views of the window that ends before row ``end``."""
        pack_into = struct.Struct(f"{row_dim}f").pack_into
        self._slots = [
            (functools.partial(pack_into, cast(Any, self._buffer), end * row_bytes), self._windows[end + 1])
            for end in range(2 * length)
        ]
        """For the row written when the window ends at row ``end``: its writer (packing in place;
        struct's float32 cast is numpy's, round to nearest) and the window it completes."""
        self._full = 2 * length
        self._slide = (
            slice(0, (length - 1) * row_bytes),
            slice((length + 1) * row_bytes, 2 * length * row_bytes),
        )
        self._obs_dim = 0
        """Entries of the observation at the start of a row (set by :meth:`begin`)."""

    def _attach_pending(self, obs_dim: int) -> None:
        """The views and writers of :meth:`begin` and :meth:`record` for ``obs_dim`` entries."""
        row_dim, buffer = self.row_dim, cast(Any, self._buffer)
        self._obs_dim = obs_dim
        self._pending = [
            self._buffer[end * row_dim : end * row_dim + obs_dim] for end in range(2 * self.length + 1)
        ]
        """The waiting observation when the window ends before row ``end``."""
        pack_obs = struct.Struct(f"{obs_dim}f").pack_into
        self._obs_writers = [
            functools.partial(pack_obs, buffer, 4 * end * row_dim) for end in range(2 * self.length + 1)
        ]
        pack_tail = struct.Struct(f"{row_dim}f").pack_into  # action, reward, next observation
        self._records = [
            (
                functools.partial(pack_tail, buffer, 4 * (end * row_dim + obs_dim)),
                self._windows[end + 1],
                self._pending[end + 1],
            )
            for end in range(2 * self.length)
        ]
        """For the row completed when the window ends at row ``end``: the writer of its action
        and reward and the next observation, the window it completes and that observation."""

    def __getstate__(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "row_dim": self.row_dim,
            "buffer": self._buffer,
            "end": self._end,
            "obs_dim": self._obs_dim,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.length, self.row_dim = state["length"], state["row_dim"]
        self._buffer = np.zeros((2 * self.length + 1) * self.row_dim, dtype=np.float32)
        self._buffer[: state["buffer"].size] = state["buffer"]
        self._end = state["end"]
        self._attach()
        if state.get("obs_dim"):
            self._attach_pending(state["obs_dim"])

    def clear(self) -> None:
        """Empty the window (a new trial)."""
        self._buffer.fill(0.0)
        self._end = self.length

    def append(self, obs: Sequence[float], action: Sequence[float], reward: float) -> np.ndarray:
        """Append the row ``(obs, action, reward)`` (rounded to float32, as numpy casts) and
        return the window."""
        end = self._end
        if end == self._full:  # full: the newest length - 1 rows move to the front
            front, back = self._slide
            self._bytes[front] = self._bytes[back]
            end = self.length - 1
        write, window = self._slots[end]
        try:
            write(*obs, *action, reward)
        except OverflowError:  # a value beyond float32's range: numpy's cast gives +-inf
            row = np.asarray((*obs, *action, reward), dtype=np.float32)
            self._buffer[end * self.row_dim : (end + 1) * self.row_dim] = row
        self._end = end + 1
        return window.copy()

    def window(self) -> np.ndarray:
        """The flat ``(length * row_dim,)`` window, a fresh array."""
        return self._windows[self._end].copy()

    def begin(self, obs: Sequence[float]) -> np.ndarray:
        """Hold ``obs`` (an episode's first observation) as the start of the next row and
        return it as a float32 array (what ``np.array(obs, dtype=np.float32)`` gives)."""
        if self._obs_dim != len(obs):
            self._attach_pending(len(obs))
        end = self._end
        try:
            self._obs_writers[end](*obs)
        except OverflowError:  # beyond float32's range: numpy's cast gives +-inf
            self._pending[end][:] = np.asarray(obs, dtype=np.float32)
        return self._pending[end].copy()

    def record(
        self, action: Sequence[float], reward: float, obs: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Complete the row of the observation :meth:`begin` or the last :meth:`record` left
        waiting with ``(action, reward)``, hold ``obs`` as the start of the next row, and return
        the window and ``obs`` as float32 arrays (what :meth:`append` and ``np.array`` give).
        """
        end = self._end
        if end == self._full:  # full: the newest length - 1 rows and the waiting observation move
            front, back = self._slide
            extra = 4 * self._obs_dim
            self._bytes[front.start : front.stop + extra] = self._bytes[back.start : back.stop + extra]
            end = self.length - 1
        write, window, pending = self._records[end]
        try:
            write(*action, reward, *obs)
        except OverflowError:  # a value beyond float32's range: numpy's cast gives +-inf
            start = end * self.row_dim + self._obs_dim
            self._buffer[start : start + self.row_dim] = np.asarray((*action, reward, *obs), dtype=np.float32)
        self._end = end + 1
        return window.copy(), pending.copy()


def action_encoder(space: spaces.Space[Any]) -> Any:
    """How an action enters a history row: one-hot rows by index (Discrete), else ``None``
    (a continuous action's float32 values, clipped to [-1, 1], are the row's entries)."""
    if isinstance(space, spaces.Discrete):
        eye = np.eye(int(space.n), dtype=np.float32)
        return tuple(tuple(row.tolist()) for row in eye)
    return None


def clipped(values: Sequence[float]) -> list[float]:
    """Continuous action values as a history row takes them: clipped to [-1, 1] (NaN stays
    NaN); the window's float32 cast then rounds them, as numpy's cast does."""
    return [-1.0 if v < -1.0 else (1.0 if v > 1.0 else v) for v in values]
