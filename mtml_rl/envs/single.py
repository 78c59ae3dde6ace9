"""The single multi-task environment (a Gymnasium ``Env`` running one slot)."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.envs.config import coerce_task, resolve_setup
from mtml_rl.envs.engine import TaskSlots
from mtml_rl.errors import TaskError
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


def entropy_seed() -> int:
    """A fresh 32-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().generate_state(1)[0])


class MultiTaskEnv(gym.Env[Any, Any]):
    """One environment of a task family; each reset starts a task.

    With ``split=`` every reset draws the next task from the split with a scheduler
    seeded by ``reset(seed=...)``; with ``task=`` the task is fixed. ``info["task"]``
    is the running task's id and ``info["task_params"]`` its parameter values.

    :param spec: a registered id, a spec file path or a :class:`TaskSpec`
    :param split: the split to draw tasks from (default ``train``; ``test`` is the union
        of the held-out splits)
    :param task: one fixed task: a :class:`Task` or a mapping of parameter values
    :param context: ``hidden``, ``visible`` or ``privileged`` (default: the spec's)
    :param history_len: include the last ``history_len`` transitions in the observation
    :param trial_episodes: keep the task and history window for this many consecutive
        resets (a trial); ``reset(seed=...)`` or ``options={"new_trial": True}`` starts anew
    :param render_mode: ``None`` or ``"rgb_array"``
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        spec: str | TaskSpec,
        split: str | None = None,
        task: Any = None,
        context: str | None = None,
        history_len: int = 0,
        trial_episodes: int = 1,
        render_mode: str | None = None,
    ) -> None:
        setup = resolve_setup(spec, split=split, task=task, context=context, history_len=history_len)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.task_spec = setup.spec
        self.family = setup.family
        self.split = setup.split
        self.metadata = {**self.metadata, "render_fps": setup.family.render_fps}
        self._slots = TaskSlots(
            setup.family,
            setup.spec,
            setup.tasks,
            1,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
        )
        self.context_mode = setup.context
        self.observation_space = self._slots.layout.single_space
        self.action_space = setup.family.action_space()
        self._idx = np.zeros(1, dtype=np.int64)

    @property
    def task(self) -> Task:
        """The task of the current episode."""
        return self._slots.current_tasks()[0]

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this env schedules (a task forced through ``reset(options=...)`` is not one)."""
        return self._slots.tasks[: self._slots.n_scheduled]

    def set_task(self, task: Any) -> None:
        """Fix the task (a :class:`Task` or a mapping of values) from the next reset on."""
        self._slots.set_tasks((coerce_task(self.task_spec, task),), sample=False)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode; ``options={"task": ...}`` runs that task in this episode only."""
        super().reset(seed=seed)
        new_trial = seed is not None or not self._slots.seeded or bool(options and options.get("new_trial"))
        if seed is not None:
            self._slots.seed([seed])
        elif not self._slots.seeded:
            self._slots.seed([entropy_seed()])
        if options and options.get("task") is not None:
            self._slots.force_task(0, coerce_task(self.task_spec, options["task"]))
            new_trial = True
        self._slots.reset_slots(self._idx, new_trial=new_trial)
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """One transition of the current task. The time limit is added by ``gym.make``."""
        if not self._slots.seeded:
            raise gym.error.ResetNeeded("call reset() before step()")
        batched = self._batch_action(action)
        reward, terminated = self._slots.step(batched)
        return self._obs(), float(reward[0]), bool(terminated[0]), False, self._info()

    def _batch_action(self, action: Any) -> np.ndarray:
        if not self.action_space.contains(action if not isinstance(action, int) else np.int64(action)):
            raise TaskError(f"action {action!r} is not in the action space {self.action_space}")
        if isinstance(self.action_space, spaces.Discrete):
            return np.array([int(action)], dtype=np.int64)
        return np.asarray(action, dtype=np.float64).reshape(1, -1)

    def _obs(self) -> Any:
        obs = self._slots.observation()
        if isinstance(obs, dict):
            return {k: v[0] for k, v in obs.items()}
        return obs[0]

    def _info(self) -> dict[str, Any]:
        task = self.task
        info: dict[str, Any] = {"task": task.id, "task_params": task.as_dict()}
        success = self._slots.success()
        if success is not None:
            info["is_success"] = bool(success[0])
        return info

    def render(self) -> np.ndarray | None:
        """An RGB frame of the current state (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode='rgb_array'; returning None")
            return None
        return self.family.render_rgb(self._slots.state, self._slots.params)
