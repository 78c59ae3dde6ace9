"""The one-slot engine of a simulator-backed family: one Gymnasium simulator, its task applied
between episodes.

The engine of :class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv`. Task switching (applying the
task to the simulator), the per-task context and ``info`` values and the choice of the
reward and success hooks happen at resets; a step is the simulator's step (its split step
run in one call, where the family has one: :mod:`~mtml_rl.families.mujoco_split`), the
family's reward hook (where it has one), a float32 observation and a fresh ``info``. The task
stream, the simulator seeding and the history rows are those of slot ``i`` of
:class:`~mtml_rl.envs.sim_slots.SimSlots`, so the single env and each slot of
:class:`~mtml_rl.envs.sim_vector.SimVectorEnv` agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from mtml_rl.errors import TaskError
from mtml_rl.families.actions import follows_action_rule
from mtml_rl.families.sim import SimFamily, overrides
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.frozen import FrozenParams
from mtml_rl.tasks.task import Task

_F32 = np.dtype(np.float32)
_ARRAY = np.ndarray


class SimSlot(ScheduledSlot[tuple[Any, TaskValues]]):
    """One simulator running the tasks of one slot.

    :param family: the simulator-backed family instance
    :param spec: the spec (context normalization)
    :param tasks: the tasks to schedule
    :param sample: draw a task at every new trial (else run ``tasks[0]``)
    :param context: context visibility mode
    :param history_len: transitions in the observation's history window
    :param trial_episodes: episodes per trial
    :param render_mode: the simulator's render mode
    """

    def __init__(
        self,
        family: SimFamily[Any],
        spec: TaskSpec,
        tasks: Sequence[Task],
        *,
        sample: bool,
        context: str,
        history_len: int,
        trial_episodes: int,
        render_mode: str | None,
    ) -> None:
        # ContextCodec and ObsLayout read only the schema and the spaces, which SimFamily shares.
        codec = ContextCodec(spec, type(family))  # type: ignore[arg-type]
        super().__init__(TaskSchedule(tasks, sample=sample, trial_episodes=trial_episodes), codec)
        self.family = family
        self.sim = family.build(render_mode)
        self.original = family.snapshot(self.sim)
        self.layout = ObsLayout(family, codec, context, history_len)  # type: ignore[arg-type]
        self.render_fps = int(self.sim.metadata.get("render_fps", 50))
        self.history = HistoryWindow(history_len, self.layout.row_dim) if history_len > 0 else None
        self.params: Any = None
        self._sim_seed: int | None = None
        self._seeded = False
        self._obs = np.zeros(self.layout.obs_dim, dtype=np.float32)
        self._values: TaskValues | None = None
        self._applied: Task | None = None
        """The task the simulator is configured for."""
        self._task_reward = family.reward_hook()
        """The family's in-place reward (``None``: the simulator's reward is the task's)."""
        self._is_success = family.is_success if overrides(family, "is_success") else None
        self._success_at_end = family.success_only_at_termination
        """Whether a step that does not terminate records ``False`` without the success test."""
        self._plain = history_len == 0 and context == "hidden"
        space = family.action_space()
        self._shape = space.shape
        self._onehot = action_encoder(space)
        unmapped = not overrides(family, "simulator_action") and follows_action_rule(self.sim.action_space)
        self._to_simulator = None if unmapped else family.simulator_action
        """The agent's action to the simulator's (``None``: the same, as for the built-in families)."""
        self._obs_values: list[float] = []
        """The float32 observation's values (the next history row's), where there is a history."""
        self._copy_info = not family.fresh_info
        """Whether the simulator's ``info`` is copied before the task's entries are written."""
        self._attach()

    def _attach(self) -> None:
        """What is rebuilt rather than pickled: the simulator's step and this slot's step.

        The simulator's step is the family's whole step
        (:meth:`~mtml_rl.families.sim.SimFamily.whole_step`: the split step run whole, or
        another cheaper equal step), where it has one: the results of ``sim.step`` bit for
        bit, as the vector env's slots compute them."""
        whole = self.family.whole_step(self.sim)
        self._sim_step = self.sim.step if whole is None else whole
        self.step = self._step_plain if self._plain else self._step_layout  # type: ignore[method-assign]

    _REBUILT = frozenset(("_sim_step", "step"))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._REBUILT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled, the simulator is a freshly built one (Gymnasium's envs pickle their
        constructor arguments): configure it for the task it ran."""
        self.__dict__.update(state)
        if self._applied is not None:
            self.family.apply_task(self.sim, self.params, self.original)
        self._attach()

    def _entry(self, task: Task) -> tuple[Any, TaskValues]:
        """The task's parameters (the family's dataclass) and its context and ``info`` values."""
        return self.family.params(task), task_values(task, self.codec)

    # -- randomness -----------------------------------------------------------------------
    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self._seeded

    def seed(self, seed: int) -> None:
        """Reseed the task stream; the simulator is reset with ``seed`` at the next reset."""
        self.schedule.stream.seed(seed)
        self._sim_seed = int(seed)
        self._seeded = True

    def rng_state(self) -> dict[str, Any]:
        """The task stream's and the simulator's random state (for checkpoints)."""
        return {
            "task": self.schedule.stream.get_state(),
            "sim": self.sim.np_random.bit_generator.state,
            "sim_seed": self._sim_seed,
        }

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self.schedule.stream.set_state(state["task"])
        self.sim.np_random.bit_generator.state = state["sim"]
        self._sim_seed = state["sim_seed"]
        self._seeded = True

    # -- episodes -------------------------------------------------------------------------
    def reset(self, *, new_trial: bool) -> tuple[Any, dict[str, Any]]:
        """Start an episode; a new trial applies the next task to the simulator first."""
        if self.schedule.next_episode(new_trial=new_trial) or self._values is None:
            task = self.schedule.current
            if task is not self._applied:  # the same task again needs no new simulator settings
                self.params, self._values = self.running_entry()
                self.family.apply_task(self.sim, self.params, self.original)
                self._applied = task
            if self.history is not None:
                self.history.clear()
        obs, sim_info = self.sim.reset(seed=self._sim_seed)
        self._sim_seed = None
        self._obs = np.array(obs, dtype=np.float32)
        if self.history is not None:
            self._obs_values = self._obs.tolist()
        window = None if self.history is None else self.history.window()
        assert self._values is not None  # set at the first trial
        return self._observation(window), self._info(obs, sim_info, self._values)

    def step(self, action: Any) -> StepResult:
        """The simulator's step (the agent's action mapped to the simulator's, where the family
        normalizes its space), the task's reward, the observation and ``info``.

        Replaced on each instance by the step of its observation layout (:meth:`_attach`)."""
        return (self._step_plain if self._plain else self._step_layout)(action)

    def _step_plain(self, action: Any) -> StepResult:
        """The step of a hidden-context observation without history: the simulator's step
        with the checked action (mapped to the simulator's, where the family maps it), the
        task's reward, the float32 observation and ``info``.

        ``info`` is the simulator's own dict with the task reward's terms, the task's id and
        values (and success) written into it, where the family declares that its simulator
        returns a new dict at every step (:attr:`~mtml_rl.families.sim.SimFamily.fresh_info`):
        no second dict per step; otherwise a copy of it."""
        values = self._values
        if values is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if action.__class__ is not _ARRAY or action.shape != self._shape:
            action = self._checked(action)
        sim_action = action if self._to_simulator is None else self._to_simulator(action)
        obs, sim_reward, terminated, truncated, info = self._sim_step(sim_action)
        if self._copy_info:
            info = dict(info)
        if self._task_reward is None:
            reward = float(sim_reward)
        else:  # the task reward's terms replace the simulator's, written into info
            reward = self._task_reward(self.params, sim_action, float(sim_reward), info)
        info["task"] = values.task_id
        info["task_params"] = FrozenParams(values.params_dict)
        if self._is_success is not None:
            if terminated or not self._success_at_end:
                info["is_success"] = bool(self._is_success(self.sim, self.params, obs, info))
            else:
                info["is_success"] = False
        # a float32 array is handed out as it is (a reset sets the next); another array is
        # cast by its own astype, without np.asarray's argument parsing and dtype discovery
        if obs.__class__ is _ARRAY:
            part = obs if obs.dtype is _F32 else obs.astype(_F32)
        else:
            part = np.asarray(obs, _F32)
        # the flags' truth values as bool() gives them, without a call each
        return part, reward, True if terminated else False, True if truncated else False, info

    def _step_layout(self, action: Any) -> StepResult:
        """The step of a visible or privileged context, or with a history window: the plain
        step's, with the observation assembled (the action's history entries are those of
        the action as given, which the check only converts)."""
        part, reward, terminated, truncated, info = self._step_plain(action)
        self._obs = part
        window = None
        if self.history is not None:
            window = self.history.append(self._obs_values, self._encode(action), reward)
            self._obs_values = part.tolist()
            if self.layout.context == "hidden":
                return {"obs": part, "history": window}, reward, terminated, truncated, info
        return self._observation(window), reward, terminated, truncated, info

    def _info(self, obs: np.ndarray, sim_info: dict[str, Any], values: TaskValues) -> dict[str, Any]:
        """``info`` of a reset: the simulator's, the task's id and values, success (a step
        writes the same into the simulator's dict, with the task reward's terms)."""
        info = {**sim_info, "task": values.task_id, "task_params": FrozenParams(values.params_dict)}
        if self._is_success is not None:
            info["is_success"] = bool(self._is_success(self.sim, self.params, obs, info))
        return info

    def _checked(self, action: Any) -> Any:
        """The action as the simulator takes it; a clear error for a wrong shape or value."""
        space = self.family.action_space()
        if isinstance(space, spaces.Discrete):
            if not space.contains(action if not isinstance(action, int) else np.int64(action)):
                raise TaskError(f"action {action!r} is not in the action space {space}")
            return action
        array = np.asarray(action)
        if array.shape != self._shape:
            raise TaskError(f"action must have shape {self._shape}, got {array.shape}")
        return array

    def _encode(self, action: Any) -> Sequence[float]:
        """The action's entries of a history row (one-hot, or clipped to [-1, 1])."""
        if self._onehot is not None:
            return self._onehot[int(action)]
        values: list[float] = np.asarray(action).reshape(-1).tolist()
        # NaN stays NaN when clipped: where min or max is NaN the values take the clip
        if -1.0 <= min(values) and max(values) <= 1.0:
            return values
        return clipped(values)

    # -- observations ---------------------------------------------------------------------
    def _observation(self, window: np.ndarray | None) -> Any:
        obs, values = self._obs, self._values
        if self._plain:
            return obs
        assert values is not None
        layout = self.layout
        part = np.concatenate((obs, values.context_array)) if layout.context == "visible" else obs.copy()
        if not layout.is_dict:
            return part
        out = {"obs": part}
        if layout.context == "privileged":
            out["context"] = values.context_array.copy()
        if window is not None:
            out["history"] = window
        return out

    # -- simulator ------------------------------------------------------------------------
    def render(self) -> Any:
        """The simulator's frame."""
        return self.sim.render()

    def close(self) -> None:
        """Close the simulator."""
        self.sim.close()
