"""The batched multi-task vector environment: N slots, a different task in each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mtml_rl.envs.config import EnvSetup, coerce_task, resolve_setup
from mtml_rl.envs.engine import SlotEngine, TaskSlots
from mtml_rl.envs.single import entropy_seed
from mtml_rl.envs.validation import action_check, reset_mask, reset_options, reset_seeds
from mtml_rl.errors import TaskError
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


class MultiTaskVectorEnv(VectorEnv[Any, Any, Any]):
    """``num_envs`` slots stepped by the family's batched dynamics in numpy.

    Each slot draws its own task at every reset from a scheduler seeded per slot: a
    vector env reset with seed ``s`` runs slot ``i`` exactly as a single env reset with
    seed ``s + i``. Finished slots reset in the same step (``AutoresetMode.SAME_STEP``):
    ``info["final_obs"]`` and ``info["_final_obs"]`` hold the last observation of the
    finished episodes, ``info["final_task_index"]`` the task index each slot ran before
    the reset and, where the family defines success, ``info["final_is_success"]``. The
    time limit only ever sets ``truncated``. ``autoreset_mode=AutoresetMode.NEXT_STEP``
    selects Gymnasium's other convention (what its batched CartPole uses): a finished
    slot returns its final observation and resets on the next call.

    :param spec: a registered id, a spec file path or a :class:`TaskSpec`
    :param num_envs: number of slots
    :param split: the split to draw tasks from (default ``train``)
    :param task: one fixed task for every slot
    :param tasks: fixed tasks, slot ``i`` running ``tasks[i % len(tasks)]``
    :param context: ``hidden``, ``visible`` or ``privileged`` (default: the spec's)
    :param history_len: include the last ``history_len`` transitions in observations
    :param max_episode_steps: the time limit (default: the spec's)
    :param trial_episodes: a slot keeps its task and history window for this many
        consecutive episodes (a trial); ``reset()`` always starts new trials
    :param render_mode: ``None`` or ``"rgb_array"`` (renders slot 0)
    :param autoreset_mode: ``SAME_STEP`` (default; what SB3 expects) or ``NEXT_STEP``
    :param validate_actions: refuse, at every step, a discrete action that is not an integer
        of the action space and a continuous one that is NaN or infinite, with a
        :class:`TaskError`, as Gymnasium's batched environments do (finite continuous actions
        beyond the bounds are clipped by the dynamics, as in Gymnasium's continuous-control
        envs); ``False`` skips that check for speed (the shape is always checked)
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": ["rgb_array"],
        "render_fps": 50,
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        spec: str | TaskSpec,
        num_envs: int = 1,
        split: str | None = None,
        task: Any = None,
        tasks: Sequence[Any] | None = None,
        context: str | None = None,
        history_len: int = 0,
        max_episode_steps: int | None = None,
        trial_episodes: int = 1,
        render_mode: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.SAME_STEP,
        validate_actions: bool = True,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise TaskError(f"num_envs must be a positive integer, got {num_envs!r}")
        setup = resolve_setup(
            spec,
            split=split,
            task=task,
            tasks=tasks,
            context=context,
            history_len=history_len,
            max_episode_steps=max_episode_steps,
        )
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.task_spec = setup.spec
        self.family = setup.family
        self.split = setup.split
        self.context_mode = setup.context
        self.max_episode_steps = setup.max_episode_steps
        self._slots = self._build_slots(setup, trial_episodes)
        self.single_observation_space = self._slots.layout.single_space
        self.single_action_space = setup.family.action_space()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.validate_actions = bool(validate_actions)
        self._action_check = action_check(self.single_action_space)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._all = np.arange(num_envs, dtype=np.int64)
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self._prev_done = np.zeros(num_envs, dtype=bool)

    def _build_slots(self, setup: EnvSetup, trial_episodes: int) -> SlotEngine:
        """The engine: the family's batched numpy dynamics (a subclass may run another)."""
        return TaskSlots(
            setup.family,
            setup.spec,
            setup.tasks,
            self.num_envs,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
        )

    # -- tasks ----------------------------------------------------------------------------
    @property
    def slots(self) -> SlotEngine:
        """The engine (tasks, streams, observation layout and trials of every slot)."""
        return self._slots

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this env schedules."""
        return self._slots.tasks

    def current_tasks(self) -> list[Task]:
        """The task each slot currently runs."""
        return self._slots.current_tasks()

    def set_tasks(self, tasks: Sequence[Any], *, sample: bool = False) -> None:
        """Replace the scheduled tasks (fixed per slot unless ``sample``); applies at resets."""
        self._slots.set_tasks([coerce_task(self.task_spec, t) for t in tasks], sample=sample)

    # -- API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every slot, or those in ``options["reset_mask"]``.

        ``seed`` may be an int (slot ``i`` gets ``seed + i``) or one seed per slot.
        ``options["reset_mask"]`` is a boolean array of shape ``(num_envs,)``;
        ``options["task"]`` runs that task in the reset slots for this episode (as the single
        env's option does). Anything else is refused with a :class:`TaskError`.
        """
        checked = reset_options(options)
        idx = self._all
        if checked.get("reset_mask") is not None:
            idx = reset_mask(checked["reset_mask"], self.num_envs)
        task = coerce_task(self.task_spec, checked["task"]) if checked.get("task") is not None else None
        if seed is not None:
            self._slots.seed(reset_seeds(seed, self.num_envs))
        elif not self._slots.seeded:
            base = entropy_seed()
            self._slots.seed([base + i for i in range(self.num_envs)])
        if task is not None:
            for slot in idx.tolist():
                self._slots.force_task(slot, task)
        self._slots.reset_slots(idx)
        self._elapsed[idx] = 0
        self._prev_done[idx] = False
        return self._slots.observation(), {"task_index": self._slots.task_index.copy()}

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every slot; finished ones reset in this call (or the next, in NEXT_STEP mode)."""
        if not self._slots.seeded:
            raise TaskError("call reset() before step()")
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            return self._step_next(self._check_actions(actions))
        reward, terminated = self._slots.step(self._check_actions(actions))
        self._elapsed += 1
        truncated = self._elapsed >= self.max_episode_steps
        done = terminated | truncated
        info: dict[str, Any] = {}
        idx = np.flatnonzero(done)
        if idx.size:
            info["final_obs"] = self._final_obs(idx)
            info["_final_obs"] = done
            info["final_task_index"] = self._slots.task_index.copy()
            success = self._slots.success()
            if success is not None:
                info["final_is_success"] = np.zeros(self.num_envs, dtype=bool)
                info["final_is_success"][idx] = success[idx]
            self._slots.reset_slots(idx, copy_obs=False, new_trial=False)
            self._elapsed[idx] = 0
        info["task_index"] = self._slots.task_index.copy()
        return self._slots.observation(), reward, terminated, truncated, info

    def _step_next(
        self, actions: np.ndarray
    ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Gymnasium's NEXT_STEP autoreset: slots that finished last step reset now.

        Their action is ignored, their reward is 0 and their flags are false, as in
        Gymnasium's own batched environments; the observation returned when an episode
        ends is its final observation.
        """
        reward, terminated = self._slots.step(actions)
        self._elapsed += 1
        truncated = self._elapsed >= self.max_episode_steps
        idx = np.flatnonzero(self._prev_done)
        if idx.size:
            self._slots.reset_slots(idx, copy_obs=False, new_trial=False)
            self._elapsed[idx] = 0
            reward[idx] = 0.0
            terminated[idx] = False
            truncated[idx] = False
        self._prev_done = terminated | truncated
        info: dict[str, Any] = {"task_index": self._slots.task_index.copy()}
        if self._prev_done.any():
            success = self._slots.success()
            if success is not None:
                info["is_success"] = success & self._prev_done
        return self._slots.observation(), reward, terminated, truncated, info

    def _check_actions(self, actions: Any) -> np.ndarray:
        arr = np.asarray(actions)
        expected = self.action_space.shape
        if arr.shape != expected:
            raise TaskError(f"actions must have shape {expected}, got {arr.shape}")
        if self.validate_actions:
            self._action_check(arr)
        return arr

    def _final_obs(self, idx: np.ndarray) -> np.ndarray:
        final = self._slots.observation(idx)
        out = np.empty(self.num_envs, dtype=object)  # filled with None
        if isinstance(final, dict):
            for k, slot in enumerate(idx.tolist()):
                out[slot] = {key: value[k] for key, value in final.items()}
        else:
            out[idx] = np.fromiter(final, dtype=object, count=len(idx))  # the rows, as arrays
        return out

    def render(self) -> tuple[np.ndarray, ...] | None:
        """An RGB frame of slot 0 (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            return None
        slots = self._slots
        assert isinstance(slots, TaskSlots)
        return (self.family.render_rgb(slots.state[:, :1], slots.params[:, :1]),)


def _autoreset_mode(mode: str | AutoresetMode) -> AutoresetMode:
    """Parse an autoreset mode; only SAME_STEP and NEXT_STEP are supported."""
    try:
        parsed = AutoresetMode(mode)
    except ValueError:
        raise TaskError(f"autoreset_mode must be 'SameStep' or 'NextStep', got {mode!r}") from None
    if parsed not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
        raise TaskError(f"autoreset_mode {parsed.value!r} is not supported; use SameStep or NextStep")
    return parsed
