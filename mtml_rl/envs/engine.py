"""The slot engine: N task slots stepped together by a family's batched dynamics.

Both :class:`~mtml_rl.envs.single.MultiTaskEnv` (one slot, no autoreset) and
:class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` (N slots, autoreset) run on it, so
their physics, randomness and task scheduling are one code path. :class:`SlotEngine` is
what the vector env needs of an engine; :class:`~mtml_rl.envs.sim_slots.SimSlots` offers
it over simulator-backed families.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
from gymnasium import spaces

from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.streams import SlotStreams
from mtml_rl.errors import TaskError
from mtml_rl.families.base import Family
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task

TASK_STREAM_KEY = (1,)
"""Spawn key of the task-scheduler stream (the initial-state stream uses the bare seed)."""


class SlotEngine(Protocol):
    """What :class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` (and the code reading its
    ``slots``: training checkpoints, RL², adaptation, evaluation) uses of an engine."""

    layout: ObsLayout
    """The observation layout (spaces, ``row_dim`` of the history)."""
    tasks: tuple[Task, ...]
    """The tasks ``task_index`` refers to."""
    task_index: np.ndarray
    """``(N,)`` int64: the index in :attr:`tasks` of the task each slot runs."""
    episode_in_trial: np.ndarray
    """``(N,)`` int64: each slot's episode within its trial (0 at a trial's start)."""
    trial_episodes: int
    """Episodes per trial."""

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        ...

    def seed(self, seeds: Sequence[int]) -> None:
        """Reseed slot ``i`` with ``seeds[i]``."""
        ...

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; slots switch at their next reset."""
        ...

    def force_task(self, slot: int, task: Task) -> None:
        """Make ``slot`` run ``task`` at its next reset only."""
        ...

    def current_tasks(self) -> list[Task]:
        """The task each slot currently runs."""
        ...

    def reset_slots(self, idx: np.ndarray, *, copy_obs: bool = True, new_trial: bool = True) -> None:
        """Start a new episode (or trial) in the slots ``idx``."""
        ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance every slot by one transition; returns ``(reward, terminated)``."""
        ...

    def observation(self, idx: np.ndarray | None = None) -> Any:
        """The assembled observation of every slot (or of the slots ``idx``)."""
        ...

    def success(self) -> np.ndarray | None:
        """Per-slot success flags, where the family defines success."""
        ...

    def rng_state(self) -> dict[str, Any]:
        """The random state of every slot (for checkpoints)."""
        ...

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        ...


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
        check_trial_episodes(trial_episodes)
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
        """Replace the scheduled tasks; slots switch at their next reset.

        Tasks still running in a slot stay in :attr:`tasks`, after the scheduled ones (the
        first :attr:`n_scheduled`), so that ``task_index`` keeps naming what each slot runs
        until it resets; the scheduler never draws them.
        """
        if not tasks:
            raise ValueError("at least one task is needed")
        running = self.current_tasks() if hasattr(self, "task_index") else []
        self.tasks, running_index = schedule_with_running(tasks, running)
        self.n_scheduled = len(tasks)
        self.sample = sample
        self.groups = task_groups(self.spec, tasks, self.num_slots)
        self.params_table = type(self.family).params_array(list(self.tasks))
        self.context_table = self.codec.encode(self.tasks)
        if running:
            self.task_index = running_index
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
        chosen = choose_tasks(
            self.task_streams,
            idx,
            self.n_scheduled,
            sample=self.sample,
            pending=self._pending,
            groups=self.groups,
        )
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
        record_transition(self.history, self.obs, action, reward, discrete=self._discrete)

    def observation(self, idx: np.ndarray | None = None) -> Any:
        """The assembled observation of every slot (or of the slots ``idx``)."""
        return assemble_slots(self.layout, self.obs, self.context, self.history, idx)

    def success(self) -> np.ndarray | None:
        """Per-slot success flags, where the family defines success."""
        return self.family.success(self.state, self.params)


def record_transition(
    history: np.ndarray, obs: np.ndarray, action: np.ndarray, reward: np.ndarray, *, discrete: bool
) -> None:
    """Shift every slot's history window by one and append ``(obs, action, reward)``.

    :param history: ``(N, H, D)`` windows, oldest row first (changed in place)
    :param obs: ``(N, O)`` the observations the actions were taken in
    :param action: ``(N,)`` discrete actions (one-hot encoded) or ``(N, A)`` continuous
        ones (clipped to [-1, 1])
    :param reward: ``(N,)`` the transitions' rewards
    """
    n, o = history.shape[0], obs.shape[1]
    history[:, :-1] = history[:, 1:]
    history[:, -1, :o] = obs
    if discrete:
        history[:, -1, o:-1] = 0.0
        history[np.arange(n), -1, o + np.asarray(action, dtype=np.int64)] = 1.0
    else:
        clipped = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        history[:, -1, o:-1] = clipped.reshape(n, -1)
    history[:, -1, -1] = reward


def assemble_slots(
    layout: ObsLayout,
    obs: np.ndarray,
    context: np.ndarray,
    history: np.ndarray | None,
    idx: np.ndarray | None = None,
) -> Any:
    """The layout's observation of every slot, or of the slots ``idx`` only.

    :param layout: the observation layout
    :param obs: ``(N, O)`` the family's observations
    :param context: ``(N, C)`` normalized contexts
    :param history: ``(N, H, D)`` history windows, or ``None`` without a window
    :param idx: the slots to assemble (default: all)
    """
    if idx is None:
        return layout.assemble(obs, context, history)
    window = None if history is None else history[idx]
    ctx = context[idx] if layout.uses_context else context  # unused when hidden
    return layout.assemble(obs[idx], ctx, window)


def schedule_with_running(
    scheduled: Sequence[Task], running: Sequence[Task]
) -> tuple[tuple[Task, ...], np.ndarray]:
    """The task list after ``set_tasks``: the scheduled tasks first, then the tasks still
    running in some slot that are not among them (never drawn, but nameable by index until
    their slots reset), and each running task's index in that list.

    :param scheduled: the new scheduled tasks
    :param running: the task each slot runs now (empty before the first schedule)
    """
    tasks = tuple(scheduled) + tuple(dict.fromkeys(t for t in running if t not in scheduled))
    return tasks, np.array([tasks.index(t) for t in running], dtype=np.int64)


class TaskGroups(NamedTuple):
    """The scheduled tasks grouped by their categorical values, and which group each slot draws
    from (:func:`task_groups`)."""

    members: np.ndarray
    """The task indices of every group, group after group."""
    start: np.ndarray
    """``(G,)`` where each group starts in :attr:`members`."""
    size: np.ndarray
    """``(G,)`` each group's number of tasks."""


def task_groups(spec: TaskSpec, tasks: Sequence[Task], num_slots: int) -> TaskGroups | None:
    """Spread the slots over the values of the spec's categorical parameters, as Meta-World's
    multi-task vector env gives each environment its own slots: the scheduled tasks are
    grouped by those values (in order of first appearance), and slot ``i`` draws from group
    ``i % G``. ``None`` (every slot draws from every task) without categorical parameters, with
    one group, or with fewer slots than groups (a single env draws from all tasks).

    :param spec: the spec (its varying categorical parameters)
    :param tasks: the scheduled tasks
    :param num_slots: the number of slots
    """
    names = [p.name for p in spec.categorical]
    if not names:
        return None
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, task in enumerate(tasks):
        groups.setdefault(tuple(task[n] for n in names), []).append(k)
    if len(groups) < 2 or num_slots < len(groups):
        return None
    size = np.array([len(g) for g in groups.values()], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    members = np.array([k for g in groups.values() for k in g], dtype=np.int64)
    return TaskGroups(members, start, size)


def choose_tasks(
    streams: SlotStreams,
    idx: np.ndarray,
    n_scheduled: int,
    *,
    sample: bool,
    pending: dict[int, int],
    groups: TaskGroups | None = None,
) -> np.ndarray:
    """The task index of each slot in ``idx`` starting a new trial.

    With ``sample`` slot ``i`` draws ``floor(u * n_scheduled)`` from its stream (with
    ``groups``, ``floor(u * size)`` within its group ``i % G``), else it runs
    ``i % n_scheduled``; a slot in ``pending`` (a forced task) takes that index instead,
    its draw still consumed. Forced entries are removed from ``pending``.
    """
    if sample and groups is not None:
        u = streams.draw(idx)[:, 0]
        group = idx % len(groups.size)
        size = groups.size[group]
        chosen = groups.members[groups.start[group] + np.minimum((u * size).astype(np.int64), size - 1)]
    elif sample:
        u = streams.draw(idx)[:, 0]
        chosen = np.minimum((u * n_scheduled).astype(np.int64), n_scheduled - 1)
    else:
        chosen = idx % n_scheduled
    if pending:
        for k, slot in enumerate(idx.tolist()):
            if slot in pending:
                chosen[k] = pending.pop(slot)
    return chosen


def check_trial_episodes(trial_episodes: object) -> None:
    """Refuse a trial length that is not an integer >= 1."""
    if isinstance(trial_episodes, bool) or not isinstance(trial_episodes, int) or trial_episodes < 1:
        raise TaskError(f"trial_episodes must be an integer >= 1, got {trial_episodes!r}")
