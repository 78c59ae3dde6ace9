"""The one-slot engine of a :class:`~mtml_rl.families.kernel.KernelFamily`: its kernels run
on Python floats with :func:`~mtml_rl.families.kernel.scalar_ops`.

This is the fast path of :class:`~mtml_rl.envs.single.MultiTaskEnv` (``gym.make``): the
state is a tuple of floats, the task's parameters and derived quantities are computed once
per task, and a step costs about what Gymnasium's own environment step costs. It runs the
same kernels, draws the same random numbers and builds the same float32 observations and
history rows as the batched :class:`~mtml_rl.envs.engine.TaskSlots`, so the single env and
each slot of the vector env agree bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MethodType
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.slot import (
    HistoryWindow,
    ScheduledSlot,
    StepResult,
    TaskSchedule,
    TaskValues,
    action_encoder,
    clipped,
    task_values,
)
from mtml_rl.envs.streams import SlotStream
from mtml_rl.errors import TaskError
from mtml_rl.families.kernel import KernelFamily, slot_ops
from mtml_rl.families.scalarize import observed_transition, scalarize
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.frozen import FrozenParams
from mtml_rl.tasks.task import Task

_F32 = np.dtype(np.float32)
_ARRAY = np.ndarray
_INTEGERS: frozenset[type] = frozenset(
    (int, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.uint64)
)


class ScalarKernels(NamedTuple):
    """A family's kernels as the one-slot path runs them (:func:`scalarize`, bound)."""

    derive: Callable[..., Any]
    start: Callable[..., Any]
    transition: Callable[..., Any]
    observation: Callable[..., Any]
    succeeded: Callable[..., Any] | None
    """``None`` where the family defines no success."""
    observed: Callable[..., Any]
    """The transition that also returns the next state's observation: ``(next_state,
    observation, reward, terminated)`` (:func:`observed_transition`, or the two kernels
    called in turn where they cannot be fused)."""


def scalar_kernels(family: KernelFamily) -> ScalarKernels:
    """The family's kernels derived for one slot, bound to ``family``."""
    kind = type(family)

    def bound(name: str) -> Callable[..., Any]:
        return MethodType(scalarize(getattr(kind, name)), family)

    has_success = kind.succeeded is not KernelFamily.succeeded
    transition, observation = bound("transition"), bound("observation")
    fused = observed_transition(kind.transition, kind.observation)
    return ScalarKernels(
        bound("derive"),
        bound("start"),
        transition,
        observation,
        bound("succeeded") if has_success else None,
        MethodType(fused, family) if fused is not None else _in_turn(transition, observation),
    )


def _in_turn(transition: Callable[..., Any], observation: Callable[..., Any]) -> Callable[..., Any]:
    """The observed transition as two calls (where the kernels cannot be fused)."""

    def observed(xp: Any, state: Any, action: Any, params: Any, derived: Any) -> tuple[Any, Any, Any, Any]:
        next_state, reward, terminated = transition(xp, state, action, params, derived)
        return next_state, observation(xp, next_state, params), reward, terminated

    return observed


def _bind(kernel: Callable[..., Any], xp: Any) -> Callable[..., Any]:
    """``kernel`` (a bound method of the family) with ``xp`` as its first argument, as one partial."""
    if isinstance(kernel, MethodType):
        return functools.partial(kernel.__func__, kernel.__self__, xp)
    return functools.partial(kernel, xp)


@dataclass(frozen=True, slots=True)
class _Running:
    """The running task as the kernels take it (and its ``info`` values, read at every step;
    slots: a step reads four of these attributes, which a slot reads faster than a
    ``NamedTuple`` field)."""

    params: tuple[float, ...]
    derived: Any
    values: TaskValues
    task_id: str
    params_dict: dict[str, Any]


class KernelSlot(ScheduledSlot[_Running]):
    """One slot of a kernel family, stepped on Python floats.

    :param family: the family instance
    :param spec: the spec (context normalization)
    :param tasks: the tasks to schedule
    :param sample: draw a task at every new trial (else run ``tasks[0]``)
    :param context: context visibility mode
    :param history_len: transitions in the observation's history window
    :param trial_episodes: episodes per trial
    """

    def __init__(
        self,
        family: KernelFamily,
        spec: TaskSpec,
        tasks: Sequence[Task],
        *,
        sample: bool,
        context: str,
        history_len: int,
        trial_episodes: int,
    ) -> None:
        codec = ContextCodec(spec, type(family))
        super().__init__(TaskSchedule(tasks, sample=sample, trial_episodes=trial_episodes), codec)
        self.family = family
        self.layout = ObsLayout(family, codec, context, history_len)
        self.render_fps = family.render_fps
        self.init_stream = SlotStream(family.n_reset_uniforms)
        self.history = HistoryWindow(history_len, self.layout.row_dim) if history_len > 0 else None
        self.state: tuple[float, ...] | None = None
        self._obs_values: tuple[float, ...] = ()
        self._running: _Running | None = None
        self._attach()

    def _attach(self) -> None:
        """What is rebuilt rather than pickled: the derived kernels and the per-step handlers."""
        self._xp = xp = slot_ops()  # its own float32 view: no thread-local lookup per step
        self._kernels = kernels = scalar_kernels(self.family)
        # the derived transition, which computes the next observation too, with the family
        # and the namespace bound by one partial (no bound method between them: one call
        # layer fewer at every step)
        self._transition = _bind(kernels.observed, xp)
        self._assemble = self._assembler()
        succeeded = kernels.succeeded
        self._success_is_terminated = succeeded is not None and self.family.success_is_termination
        """Success is the transition's ``terminated`` (read off the step, no kernel call)."""
        self._succeeded = None if self._success_is_terminated else succeeded
        self._action, self._action_row = self._action_handlers(self.family.action_space())
        self._record: Any = None if self.history is None else self.history.record
        self.step = self._step_function()  # type: ignore[method-assign,assignment]

    def _step_function(self) -> Callable[[Any], StepResult]:
        """This slot's step: the plain one (hidden context, no history), the one with a
        history window in a hidden-context observation, or the general one."""
        if self.layout.context == "hidden":
            return self._step_plain if self.history is None else self._step_hidden_history
        return self._step_layout

    _REBUILT = frozenset(
        (
            "_xp",
            "_kernels",
            "_transition",
            "_assemble",
            "_success_is_terminated",
            "_succeeded",
            "_action",
            "_action_row",
            "_record",
            "step",
        )
    )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._REBUILT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._attach()

    # -- randomness -----------------------------------------------------------------------
    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self.init_stream.seeded

    def seed(self, seed: int) -> None:
        """Reseed the task and initial-state streams (those of a vector env's slot seeded alike)."""
        self.schedule.stream.seed(seed)
        self.init_stream.seed(seed)

    def rng_state(self) -> dict[str, Any]:
        """The task and initial-state streams' state (for checkpoints)."""
        return {"task": self.schedule.stream.get_state(), "init": self.init_stream.get_state()}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self.schedule.stream.set_state(state["task"])
        self.init_stream.set_state(state["init"])

    # -- episodes -------------------------------------------------------------------------
    def reset(self, *, new_trial: bool) -> tuple[Any, dict[str, Any]]:
        """Start an episode: the next task (on a new trial), an initial state, an empty history."""
        if self.schedule.next_episode(new_trial=new_trial) or self._running is None:
            self._running = self.running_entry()
            if self.history is not None:
                self.history.clear()
        running, xp = self._running, self._xp
        uniforms = self.init_stream.draw()
        try:
            state = tuple(self._kernels.start(xp, uniforms, running.params))
            obs = tuple(self._kernels.observation(xp, state, running.params))
            info = self._info(state, running)
        except (ArithmeticError, ValueError):
            state, obs, info = self._numpy_start(uniforms, running)
        self.state, self._obs_values = state, obs
        if self.history is None:
            return self._assemble(obs, running.values, None), info
        window = self.history.window()
        if self.step == self._step_hidden_history:  # the observation waits in the window's buffer
            return {"obs": self.history.begin(obs), "history": window}, info
        return self._assemble(obs, running.values, window), info

    def _entry(self, task: Task) -> _Running:
        """The task's parameters (float64 values, as the batched engine's) and derived quantities."""
        params = tuple(type(self.family).params_array([task])[:, 0].tolist())
        values = task_values(task, self.codec)
        derived = self._kernels.derive(self._xp, params)
        return _Running(params, derived, values, values.task_id, values.params_dict)

    def step(self, action: Any) -> StepResult:
        """One transition: the kernels on floats, then the observation and ``info``.

        Replaced on each instance by the step of its observation layout
        (:meth:`_step_function`), which does the same with no per-step dispatch."""
        return self._step_function()(action)

    def _step_plain(self, action: Any) -> StepResult:
        """The step of a hidden-context observation without history."""
        running = self._running
        if running is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = self._action(action)
        try:
            state, obs, reward, terminated = self._transition(self.state, a, running.params, running.derived)
            info: dict[str, Any] = {"task": running.task_id, "task_params": FrozenParams(running.params_dict)}
            if self._success_is_terminated:  # the scalar kernels return Python bools
                info["is_success"] = terminated
            elif self._succeeded is not None:
                info["is_success"] = bool(self._succeeded(self._xp, state, running.params))
        except (ArithmeticError, ValueError):  # an overflow or domain error: numpy gives inf/nan
            state, obs, reward, terminated, info = self._numpy_step(a, running)
        self.state = state
        return np.array(obs, _F32), reward, terminated, False, info

    def _step_hidden_history(self, action: Any) -> StepResult:
        """The step of a hidden-context observation with a history window (as
        :meth:`_step_plain`; the transition's row completes the window, and the observation
        is written once, into the window's buffer, where it waits as the next row's start:
        :meth:`~mtml_rl.envs.slot.HistoryWindow.record`)."""
        running = self._running
        if running is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a, row = self._action_row(action)
        try:
            state, obs, reward, terminated = self._transition(self.state, a, running.params, running.derived)
            # obs: the kernel's rows, kept as they are (kernels are pure)
            info: dict[str, Any] = {"task": running.task_id, "task_params": FrozenParams(running.params_dict)}
            if self._success_is_terminated:
                info["is_success"] = terminated
            elif self._succeeded is not None:
                info["is_success"] = bool(self._succeeded(self._xp, state, running.params))
        except (ArithmeticError, ValueError):
            state, obs, reward, terminated, info = self._numpy_step(a, running)
        self.state = state
        window, part = self._record(row, reward, obs)
        return {"obs": part, "history": window}, reward, terminated, False, info

    def _step_layout(self, action: Any) -> StepResult:
        """The step of a visible or privileged context (with or without history)."""
        running = self._running
        if running is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a, row = self._action_row(action)
        state, obs, reward, terminated, info = self._advance(a, running)
        window = None if self.history is None else self.history.append(self._obs_values, row, reward)
        self.state, self._obs_values = state, obs
        return self._assemble(obs, running.values, window), reward, terminated, False, info

    def _advance(self, a: Any, running: _Running) -> tuple[Any, ...]:
        """The kernels' transition from the current state: state, observation values, reward,
        terminated and ``info`` (:meth:`_step_plain` does the same inline)."""
        try:
            state, obs, reward, terminated = self._transition(self.state, a, running.params, running.derived)
            obs = tuple(obs)
            info: dict[str, Any] = {"task": running.task_id, "task_params": FrozenParams(running.params_dict)}
            if self._success_is_terminated:
                info["is_success"] = terminated
            elif self._succeeded is not None:
                info["is_success"] = bool(self._succeeded(self._xp, state, running.params))
        except (ArithmeticError, ValueError):
            return self._numpy_step(a, running)
        return state, obs, reward, terminated, info

    def _info(self, state: tuple[float, ...], running: _Running) -> dict[str, Any]:
        values = running.values
        info: dict[str, Any] = {"task": values.task_id, "task_params": FrozenParams(values.params_dict)}
        succeeded = self._kernels.succeeded
        if succeeded is not None:
            info["is_success"] = bool(succeeded(self._xp, state, running.params))
        return info

    # -- the same step with numpy, where floats raise ------------------------------------------
    def _numpy_start(
        self, uniforms: tuple[float, ...], running: _Running
    ) -> tuple[tuple[float, ...], tuple[float, ...], dict[str, Any]]:
        params = np.array(running.params, dtype=np.float64)[:, None]
        state = self.family.initial_state(np.array([uniforms], dtype=np.float64), params)
        return self._numpy_outcome(state, params, running)

    def _numpy_step(self, action: Any, running: _Running) -> tuple[Any, ...]:
        assert self.state is not None
        params = np.array(running.params, dtype=np.float64)[:, None]
        state = np.array(self.state, dtype=np.float64)[:, None]
        batch = np.array([action], dtype=np.int64 if isinstance(action, int) else np.float64)
        out = self.family.step(state, batch, params)
        next_state, obs, info = self._numpy_outcome(out.state, params, running)
        return next_state, obs, float(out.reward[0]), bool(out.terminated[0]), info

    def _numpy_outcome(
        self, state: np.ndarray, params: np.ndarray, running: _Running
    ) -> tuple[tuple[float, ...], tuple[float, ...], dict[str, Any]]:
        obs = tuple(self.family.observe(state, params)[0].tolist())
        values = running.values
        info: dict[str, Any] = {"task": values.task_id, "task_params": FrozenParams(values.params_dict)}
        success = self.family.success(state, params)
        if success is not None:
            info["is_success"] = bool(success[0])
        return tuple(state[:, 0].tolist()), obs, info

    # -- observations ---------------------------------------------------------------------
    def _assembler(self) -> Callable[[tuple[float, ...], TaskValues, np.ndarray | None], Any]:
        """How observation values (and the history window) become the layout's observation."""
        context = self.layout.context
        if self.history is None and context == "hidden":
            return lambda obs, values, window: np.array(obs, dtype=np.float32)
        if self.history is None and context == "visible":
            return lambda obs, values, window: np.array(obs + values.context, dtype=np.float32)
        if context == "hidden":
            return lambda obs, values, window: {"obs": np.array(obs, dtype=np.float32), "history": window}
        return self._assemble_dict

    def _assemble_dict(self, obs: tuple[float, ...], values: TaskValues, window: np.ndarray | None) -> Any:
        visible = self.layout.context == "visible"
        part = np.array(obs + values.context if visible else obs, dtype=np.float32)
        if not self.layout.is_dict:
            return part
        out = {"obs": part}
        if self.layout.context == "privileged":
            out["context"] = values.context_array.copy()
        if window is not None:
            out["history"] = window
        return out

    # -- actions ---------------------------------------------------------------------------
    def _action_handlers(self, space: spaces.Space[Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """The action check and conversion for the kernels, and the same returning the
        action's entries of a history row too."""
        if isinstance(space, spaces.Discrete):
            self._onehot = action_encoder(space)
            self._first, self._stop = int(space.start), int(space.start + space.n)
            return self._discrete_action, self._discrete_action_row
        assert isinstance(space, spaces.Box)
        flat = len(space.shape) == 1
        self._shape = space.shape if flat else None
        """The shape of an action on the fast path (``None``: none, every action is checked)."""
        uniform = flat and bool(np.all(space.low == space.low[0]) and np.all(space.high == space.high[0]))
        # the fast path needs one bound for every entry; otherwise every action takes the space's check
        self._low, self._high = (float(space.low[0]), float(space.high[0])) if uniform else (1.0, -1.0)
        self._unit = uniform and -1.0 <= self._low and self._high <= 1.0
        """A value of the fast path is its own history entry (clipping to [-1, 1] changes nothing)."""
        if self._shape == (1,):  # one component: the bounds checked without a loop
            return self._box_action_one, self._box_action_one_row if self._unit else self._box_action_row
        return self._box_action, self._box_action_row

    def _discrete_action(self, action: Any) -> int:
        kind: type = action.__class__
        if kind in _INTEGERS:
            index = int(action)
            if self._first <= index < self._stop:
                return index
        return int(self._checked(action))  # a valid Discrete action converts

    def _discrete_action_row(self, action: Any) -> tuple[int, Sequence[float]]:
        """:meth:`_discrete_action` and the action's one-hot history entries, with its check
        inline: one call per step."""
        kind: type = action.__class__
        if kind in _INTEGERS:
            index = int(action)
            if self._first <= index < self._stop:
                return index, self._onehot[index]
        index = int(self._checked(action))  # a valid Discrete action converts
        return index, self._onehot[index]

    def _box_action(self, action: Any) -> list[float]:
        """A float32 array of the space's shape, inside the bounds: its values (the fast path,
        where every action of SB3 or ``action_space.sample()`` goes); anything else is checked
        against the space, as Gymnasium's ``Box.contains`` does."""
        if action.__class__ is _ARRAY and action.dtype is _F32 and action.shape == self._shape:
            values: list[float] = action.tolist()
            low, high = self._low, self._high
            for v in values:
                if not low <= v <= high:  # also false for NaN
                    break
            else:
                return values
        return list(np.asarray(self._checked(action), dtype=np.float64).reshape(-1).tolist())

    def _box_action_one(self, action: Any) -> list[float]:
        """:meth:`_box_action` for a space of one component (shape ``(1,)``), whose shape
        test is the unpacking of the array's values: a one-entry list for shape ``(1,)``; a
        float (shape ``()``), a longer list, or a list of lists whose entry does not compare
        with a float, for any other shape."""
        if action.__class__ is _ARRAY and action.dtype is _F32:
            values: list[float] = action.tolist()
            try:
                (value,) = values
                if self._low <= value <= self._high:  # also false for NaN
                    return values
            except (TypeError, ValueError):
                pass
        return self._box_action(action)

    def _box_action_one_row(self, action: Any) -> tuple[list[float], Sequence[float]]:
        """:meth:`_box_action_row` of a one-component space inside [-1, 1] (the values are
        their own row), with :meth:`_box_action_one`'s check inline: one call per step."""
        if action.__class__ is _ARRAY and action.dtype is _F32:
            values: list[float] = action.tolist()
            try:
                (value,) = values
                if self._low <= value <= self._high:  # also false for NaN
                    return values, values
            except (TypeError, ValueError):
                pass
        return self._box_action_row(action)

    def _box_action_row(self, action: Any) -> tuple[list[float], Sequence[float]]:
        """:meth:`_box_action` and the values clipped to [-1, 1], as a history row takes them.

        Where the space lies inside [-1, 1] the values are their own row: an action the
        space accepts has float32 values inside it, and a float64 value beyond +-1 whose
        float32 value is +-1 enters the float32 row as +-1 whether clipped or not."""
        if self._unit:
            values = self._action(action)
            return values, values
        values = self._action(action)
        return values, clipped(values)

    def _checked(self, action: Any) -> Any:
        space = self.family.action_space()
        if not space.contains(action if not isinstance(action, int) else np.int64(action)):
            raise TaskError(f"action {action!r} is not in the action space {space}")
        return action

    # -- rendering ------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """An RGB frame of the current state."""
        if self.state is None or self._running is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        state = np.array(self.state, dtype=np.float64)[:, None]
        return self.family.render_rgb(state, np.array(self._running.params, dtype=np.float64)[:, None])

    def close(self) -> None:
        """Nothing to release."""
