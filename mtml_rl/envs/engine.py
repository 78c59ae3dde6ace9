"""The slot engine: N task slots stepped together by a family's batched dynamics.

Both :class:`~mtml_rl.envs.single.MultiTaskEnv` (one slot, no autoreset) and
:class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` (N slots, autoreset) run on it, so
their physics, randomness and task scheduling are one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.streams import SlotStreams
from mtml_rl.errors import TaskError
from mtml_rl.families.base import Family
from mtml_rl.tasks.spec import TaskSpec
from mtml_rl.tasks.task import Task

TASK_STREAM_KEY = (1,)
"""Spawn key of the task-scheduler stream (the initial-state stream uses the bare seed)."""


class TaskSlots:
    """State, parameters, tasks, randomness and history of ``num_slots`` slots.

    :param family: the family instance
    :param spec: the spec (context normalization and metadata)
    :param tasks: the tasks this engine schedules
    :param num_slots: number of slots
    :param sample: if true every reset draws a task uniformly from ``tasks`` with the
        slot's seeded scheduler; if false slot ``i`` always runs ``tasks[i % len(tasks)]``
    :param context: context visibility mode
    :param history_len: transitions kept in the observation's history window
    :param trial_episodes: episodes per trial: a slot keeps its task, and its history
        window, for this many consecutive episodes before drawing the next task
    """

    def __init__(
        self,
        family: Family,
        spec: TaskSpec,
        tasks: Sequence[Task],
        num_slots: int,
        *,
        sample: bool,
        context: str,
        history_len: int,
        trial_episodes: int = 1,
    ) -> None:
        if isinstance(trial_episodes, bool) or not isinstance(trial_episodes, int) or trial_episodes < 1:
            raise TaskError(f"trial_episodes must be an integer >= 1, got {trial_episodes!r}")
        self.trial_episodes = trial_episodes
        self.family = family
        self.spec = spec
        self.num_slots = num_slots
        self.codec = ContextCodec(spec, type(family))
        self.layout = ObsLayout(family, self.codec, context, history_len)
        self.init_streams = SlotStreams(num_slots, family.n_reset_uniforms)
        self.task_streams = SlotStreams(num_slots, 1, spawn_key=TASK_STREAM_KEY)
        self.set_tasks(tasks, sample=sample)
        n = num_slots
        self.task_index = np.arange(n, dtype=np.int64) % len(self.tasks)
        self.params = self.params_table[:, self.task_index].copy()
        self.context = self.context_table[self.task_index].copy()
        self.state = np.zeros((0, n), dtype=np.float64)
        self.obs = np.zeros((n, self.layout.obs_dim), dtype=np.float32)
        h = history_len
        self.history = np.zeros((n, h, self.layout.row_dim), dtype=np.float32) if h > 0 else None
        self._pending: dict[int, int] = {}
        self.episode_in_trial = np.zeros(n, dtype=np.int64)
        self._discrete = isinstance(family.action_space(), spaces.Discrete)

    # -- tasks ----------------------------------------------------------------------------
    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; slots switch at their next reset."""
        if not tasks:
            raise ValueError("at least one task is needed")
        self.tasks = tuple(tasks)
        self.n_scheduled = len(self.tasks)
        self.sample = sample
        self.params_table = type(self.family).params_array(list(self.tasks))
        self.context_table = self.codec.encode(self.tasks)
        self._pending = {}

    def force_task(self, slot: int, task: Task) -> None:
        """Make ``slot`` run ``task`` at its next reset only.

        A new task is appended to :attr:`tasks` (so that ``task_index`` can name it) but
        not to the scheduled tasks, the first :attr:`n_scheduled`: the scheduler never
        draws it, and the task sequence that follows is the one it would have been.
        """
        if task not in self.tasks:
            self.tasks = (*self.tasks, task)
            self.params_table = type(self.family).params_array(list(self.tasks))
            self.context_table = self.codec.encode(self.tasks)
        self._pending[slot] = self.tasks.index(task)

    def current_tasks(self) -> list[Task]:
        """The task each slot currently runs."""
        return [self.tasks[i] for i in self.task_index]

    # -- randomness -----------------------------------------------------------------------
    def seed(self, seeds: Sequence[int]) -> None:
        """Reseed slot ``i``'s streams with ``seeds[i]``."""
        self.init_streams.seed(seeds)
        self.task_streams.seed(seeds)

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self.init_streams.seeded

    def rng_state(self) -> dict[str, Any]:
        """The scheduler and initial-state streams' state (for checkpoints)."""
        return {"init": self.init_streams.get_state(), "task": self.task_streams.get_state()}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self.init_streams.set_state(state["init"])
        self.task_streams.set_state(state["task"])

    # -- dynamics -------------------------------------------------------------------------
    def _choose_tasks(self, idx: np.ndarray) -> np.ndarray:
        if self.sample:
            u = self.task_streams.draw(idx)[:, 0]
            chosen = np.minimum((u * self.n_scheduled).astype(np.int64), self.n_scheduled - 1)
        else:
            chosen = idx % self.n_scheduled
        if self._pending:
            for k, slot in enumerate(idx.tolist()):
                if slot in self._pending:
                    chosen[k] = self._pending.pop(slot)
        return chosen

    def reset_slots(self, idx: np.ndarray, *, copy_obs: bool = True, new_trial: bool = True) -> None:
        """Start a new episode in the slots ``idx``: new task, initial state, empty history.

        :param copy_obs: write into a fresh observation array, so that arrays handed out
            earlier are never changed (the vector env's step passes ``False`` because its
            array is fresh already)
        :param new_trial: start a new trial (new task, empty history); if false, slots
            whose trial has episodes left restart with the same task and history
        """
        if copy_obs:
            self.obs = self.obs.copy()
        if self.trial_episodes > 1:
            idx = self._continue_trials(idx, new_trial)
            if idx.size == 0:
                return
        if self.trial_episodes > 1:
            self.episode_in_trial[idx] = 0
        chosen = self._choose_tasks(idx)
        self.task_index[idx] = chosen
        params = self.params_table[:, chosen]
        self.params[:, idx] = params
        self.context[idx] = self.context_table[chosen]
        init = self.family.initial_state(self.init_streams.draw(idx), params)
        if self.state.shape[0] != init.shape[0]:
            self.state = np.zeros((init.shape[0], self.num_slots), dtype=np.float64)
        self.state[:, idx] = init
        self.obs[idx] = self.family.observe(init, params)
        if self.history is not None:
            self.history[idx] = 0.0

    def _continue_trials(self, idx: np.ndarray, new_trial: bool) -> np.ndarray:
        """Restart the episode (same task, history kept) in slots whose trial goes on.

        Returns the slots that start a new trial instead. ``new_trial`` (an explicit
        ``reset()``) always starts new trials.
        """
        if new_trial:
            return idx
        going_on = self.episode_in_trial[idx] < self.trial_episodes - 1
        same = idx[going_on]
        if same.size:
            self.episode_in_trial[same] += 1
            params = self.params[:, same]
            init = self.family.initial_state(self.init_streams.draw(same), params)
            self.state[:, same] = init
            self.obs[same] = self.family.observe(init, params)
        return idx[~going_on]

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance every slot by one transition; returns ``(reward, terminated)``."""
        out = self.family.step(self.state, action, self.params)
        if self.history is not None:
            self._record(action, out.reward)
        self.state = out.state
        self.obs = self.family.observe(self.state, self.params)
        return out.reward, out.terminated

    def _record(self, action: np.ndarray, reward: np.ndarray) -> None:
        assert self.history is not None
        h, o = self.history, self.layout.obs_dim
        h[:, :-1] = h[:, 1:]
        h[:, -1, :o] = self.obs
        if self._discrete:
            h[:, -1, o:-1] = 0.0
            h[np.arange(self.num_slots), -1, o + np.asarray(action, dtype=np.int64)] = 1.0
        else:
            clipped = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
            h[:, -1, o:-1] = clipped.reshape(self.num_slots, -1)
        h[:, -1, -1] = reward

    def observation(self, idx: np.ndarray | None = None) -> Any:
        """The assembled observation of every slot (or of the slots ``idx``)."""
        if idx is None:
            return self.layout.assemble(self.obs, self.context, self.history)
        history = None if self.history is None else self.history[idx]
        context = self.context[idx] if self.layout.uses_context else self.context  # unused when hidden
        return self.layout.assemble(self.obs[idx], context, history)

    def success(self) -> np.ndarray | None:
        """Per-slot success flags, where the family defines success."""
        return self.family.success(self.state, self.params)
