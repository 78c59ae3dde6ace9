"""The single multi-task environment of numpy families (a Gymnasium ``Env`` running one slot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.engine import TaskSlots
from mtml_rl.envs.kernel_slot import KernelSlot
from mtml_rl.envs.slot import SingleEngine, StepResult
from mtml_rl.envs.task_env import TaskEnv, entropy_seed
from mtml_rl.errors import TaskError
from mtml_rl.families.base import Family
from mtml_rl.families.kernel import KernelFamily
from mtml_rl.tasks.frozen import FrozenParams
from mtml_rl.tasks.task import Task

__all__ = ["BatchedSlot", "MultiTaskEnv", "entropy_seed"]


class MultiTaskEnv(TaskEnv):
    """One environment of a numpy task family; each reset starts a task.

    With ``split=`` every reset draws the next task from the split with a scheduler
    seeded by ``reset(seed=...)``; with ``task=`` the task is fixed. ``info["task"]``
    is the running task's id and ``info["task_params"]`` its parameter values.

    A :class:`~mtml_rl.families.kernel.KernelFamily` (every built-in numpy family) runs its
    kernels on Python floats (:class:`~mtml_rl.envs.kernel_slot.KernelSlot`); any other
    :class:`~mtml_rl.families.base.Family` runs its batched dynamics with one slot
    (:class:`BatchedSlot`). Either way a reset with seed ``s`` runs what slot ``i`` of a
    :class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` reset with seed ``s - i`` runs.

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

    def _build_engine(self, setup: EnvSetup, trial_episodes: int) -> SingleEngine:
        """The kernels on floats where the family has them, else its batched dynamics."""
        kwargs: dict[str, Any] = {
            "sample": setup.sample,
            "context": setup.context,
            "history_len": setup.history_len,
            "trial_episodes": trial_episodes,
        }
        if isinstance(setup.family, KernelFamily):
            return KernelSlot(setup.family, setup.spec, setup.tasks, **kwargs)
        return BatchedSlot(setup.family, setup.spec, setup.tasks, **kwargs)


class BatchedSlot:
    """Slot 0 of the batched engine (:class:`~mtml_rl.envs.engine.TaskSlots`): the single
    env of a family that has batched dynamics only.

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
        family: Family,
        spec: Any,
        tasks: Sequence[Task],
        *,
        sample: bool,
        context: str,
        history_len: int,
        trial_episodes: int,
    ) -> None:
        self.family = family
        self.slots = TaskSlots(
            family,
            spec,
            tasks,
            1,
            sample=sample,
            context=context,
            history_len=history_len,
            trial_episodes=trial_episodes,
        )
        self.layout = self.slots.layout
        self.render_fps = family.render_fps
        self.action_space = family.action_space()
        self._idx = np.zeros(1, dtype=np.int64)

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self.slots.seeded

    def seed(self, seed: int) -> None:
        """Reseed the slot's streams."""
        self.slots.seed([seed])

    def current_task(self) -> Task:
        """The running task."""
        return self.slots.current_tasks()[0]

    def scheduled_tasks(self) -> tuple[Task, ...]:
        """The tasks the scheduler draws from."""
        return self.slots.tasks[: self.slots.n_scheduled]

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks."""
        self.slots.set_tasks(tasks, sample=sample)

    def force_task(self, task: Task) -> None:
        """Run ``task`` at the next new trial only."""
        self.slots.force_task(0, task)

    def rng_state(self) -> dict[str, Any]:
        """The slot's streams' state."""
        return self.slots.rng_state()

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self.slots.set_rng_state(state)

    def reset(self, *, new_trial: bool) -> tuple[Any, dict[str, Any]]:
        """Start an episode."""
        self.slots.reset_slots(self._idx, new_trial=new_trial)
        return self._obs(), self._info()

    def step(self, action: Any) -> StepResult:
        """One transition of the running task."""
        if not self.slots.seeded:
            raise gym.error.ResetNeeded("call reset() before step()")
        reward, terminated = self.slots.step(self._batch_action(action))
        return self._obs(), float(reward[0]), bool(terminated[0]), False, self._info()

    def _batch_action(self, action: Any) -> np.ndarray:
        if not self.action_space.contains(action if not isinstance(action, int) else np.int64(action)):
            raise TaskError(f"action {action!r} is not in the action space {self.action_space}")
        if isinstance(self.action_space, spaces.Discrete):
            return np.array([int(action)], dtype=np.int64)
        return np.asarray(action, dtype=np.float64).reshape(1, -1)

    def _obs(self) -> Any:
        obs = self.slots.observation()
        if isinstance(obs, dict):
            return {k: v[0] for k, v in obs.items()}
        return obs[0]

    def _info(self) -> dict[str, Any]:
        task = self.current_task()
        info: dict[str, Any] = {"task": task.id, "task_params": FrozenParams(task.as_dict())}
        success = self.slots.success()
        if success is not None:
            info["is_success"] = bool(success[0])
        return info

    def render(self) -> np.ndarray:
        """An RGB frame of the current state."""
        return self.family.render_rgb(self.slots.state, self.slots.params)

    def close(self) -> None:
        """Nothing to release."""
