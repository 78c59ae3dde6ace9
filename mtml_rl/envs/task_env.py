"""The base of both single environments: a Gymnasium ``Env`` over a one-slot engine.

:class:`~mtml_rl.envs.single.MultiTaskEnv` (numpy families) and
:class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` (simulator-backed families) differ only in
the engine they build (:meth:`TaskEnv._build_engine`), as
:class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` and
:class:`~mtml_rl.envs.sim_vector.SimVectorEnv` do. Construction from a spec, seeding, trials,
forced tasks and ``set_task`` live here; the engine keeps the per-step work (dynamics,
observation, ``info``) out of any extra Python layer.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import gymnasium as gym
import numpy as np

from mtml_rl.envs.config import EnvSetup, coerce_task, resolve_setup
from mtml_rl.envs.slot import SingleEngine, StepResult
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


def entropy_seed() -> int:
    """A fresh 32-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().generate_state(1)[0])


class TaskEnv(gym.Env[Any, Any]):
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
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        setup = resolve_setup(spec, split=split, task=task, context=context, history_len=history_len)
        self.render_mode = render_mode
        self.task_spec = setup.spec
        self.family: Any = setup.family
        self.split = setup.split
        self.context_mode = setup.context
        self._engine = self._build_engine(setup, trial_episodes)
        if type(self).step is TaskEnv.step:  # a subclass's own step() is kept
            # the engine's step is this env's step: no extra Python frame on the hot path
            self.step = self._engine.step  # type: ignore[method-assign]
        self.observation_space = self._engine.layout.single_space
        self.action_space = setup.family.action_space()
        self.metadata = {**self.metadata, "render_fps": self._engine.render_fps}

    @abstractmethod
    def _build_engine(self, setup: EnvSetup, trial_episodes: int) -> SingleEngine:
        """The one-slot engine that runs the setup's family."""

    # -- tasks ----------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        """The task of the current episode."""
        return self._engine.current_task()

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this env schedules (a task forced through ``reset(options=...)`` is not one)."""
        return self._engine.scheduled_tasks()

    def set_task(self, task: Any) -> None:
        """Fix the task (a :class:`Task` or a mapping of values) from the next reset on."""
        self._engine.set_tasks((coerce_task(self.task_spec, task),), sample=False)

    def rng_state(self) -> dict[str, Any]:
        """The task scheduler's and the dynamics' random state (for checkpoints)."""
        return self._engine.rng_state()

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self._engine.set_rng_state(state)

    # -- API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode; ``options={"task": ...}`` runs that task in this episode only."""
        super().reset(seed=seed)
        engine = self._engine
        new_trial = seed is not None or not engine.seeded or bool(options and options.get("new_trial"))
        if seed is not None:
            engine.seed(seed)
        elif not engine.seeded:
            engine.seed(entropy_seed())
        if options and options.get("task") is not None:
            engine.force_task(coerce_task(self.task_spec, options["task"]))
            new_trial = True
        return engine.reset(new_trial=new_trial)

    def step(self, action: Any) -> StepResult:
        """One transition of the current task. The time limit is added by ``gym.make``."""
        return self._engine.step(action)

    def render(self) -> Any:
        """An RGB frame of the current state (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode='rgb_array'; returning None")
            return None
        return self._engine.render()

    def close(self) -> None:
        """Release the engine's resources (simulators)."""
        self._engine.close()
