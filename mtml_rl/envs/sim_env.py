"""The multi-task environment of simulator-backed families (MuJoCo, Box2D).

:class:`SimMultiTaskEnv` is the counterpart of :class:`~mtml_rl.envs.single.MultiTaskEnv`
for a :class:`~mtml_rl.families.sim.SimFamily`: the same ``gym.make`` arguments (spec,
split, task, context mode, history window), the same observation layouts and the same
seeded task scheduler, around one Gymnasium simulator environment. Vectorize it with
Gymnasium's ``SyncVectorEnv``/``AsyncVectorEnv`` (``gym.make_vec``) or SB3's
``SubprocVecEnv``: an env reset with seed ``s + i`` runs its own task sequence; or use
:class:`~mtml_rl.envs.sim_vector.SimVectorEnv`, which runs N of them on the same engine
(:class:`~mtml_rl.envs.sim_slots.SimSlots`) with the vector env's interface.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from mtml_rl.envs.config import coerce_task, resolve_setup
from mtml_rl.envs.sim_slots import SimSlots, sim_family, simulator_fps
from mtml_rl.envs.single import entropy_seed
from mtml_rl.errors import TaskError
from mtml_rl.families.sim import SimFamily
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task

_SLOT0 = np.zeros(1, dtype=np.int64)


class SimMultiTaskEnv(gym.Env[Any, Any]):
    """One simulator environment of a task family; each reset starts a task.

    With ``split=`` every reset draws the next task from the split with a scheduler
    seeded by ``reset(seed=...)`` (the numpy envs' task stream); with ``task=`` the task
    is fixed. The task is applied to the simulator before its reset, which is seeded with
    the same ``seed``, so at a family's reference task the env reproduces its Gymnasium
    counterpart step for step (observations as float32). ``info`` holds the simulator's
    info (task-specific reward terms replaced), ``task``, ``task_params`` and, where
    defined, ``is_success``.

    Actions go to the simulator as given (MuJoCo clamps controls to their range and
    LunarLander clips), as in Gymnasium; only their shape is checked.

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
        self.family: SimFamily[Any] = sim_family(setup)
        self.render_mode = render_mode
        self.task_spec = setup.spec
        self.split = setup.split
        self.context_mode = setup.context
        self._slots = SimSlots(
            self.family,
            setup.spec,
            setup.tasks,
            1,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
            render_mode=render_mode,
        )
        self.metadata = {**self.metadata, "render_fps": simulator_fps(self.simulator)}
        self.observation_space = self._slots.layout.single_space
        self.action_space = self.family.action_space()
        self._started = False

    # -- tasks ----------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        """The task of the current episode."""
        if not self._started:
            raise gym.error.ResetNeeded("no task yet: call reset() first")
        return self._slots.current_tasks()[0]

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this env schedules (a task forced through ``reset(options=...)`` is not one)."""
        return self._slots.tasks[: self._slots.n_scheduled]

    @property
    def simulator(self) -> gym.Env[Any, Any]:
        """The unwrapped Gymnasium environment that runs the physics."""
        return self._slots.sims[0]

    def set_task(self, task: Any) -> None:
        """Fix the task (a :class:`Task` or a mapping of values) from the next reset on."""
        self._slots.set_tasks((coerce_task(self.task_spec, task),), sample=False)

    def rng_state(self) -> dict[str, Any]:
        """The task scheduler's and the simulator's random state (for checkpoints)."""
        return self._slots.rng_state()

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self._slots.set_rng_state(state)

    # -- API ------------------------------------------------------------------------------
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
        self._slots.reset_slots(_SLOT0, new_trial=new_trial)
        self._started = True
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """One transition of the current task. The time limit is added by ``gym.make``."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise TaskError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        reward, terminated = self._slots.step(action[None])
        truncated = bool(self._slots.sim_truncated[0])
        return self._observation(), float(reward[0]), bool(terminated[0]), truncated, self._info()

    def render(self) -> Any:
        """An RGB frame of the simulator (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode='rgb_array'; returning None")
            return None
        return self._slots.render()

    def close(self) -> None:
        """Close the simulator."""
        self._slots.close()

    # -- helpers --------------------------------------------------------------------------
    def _observation(self) -> Any:
        obs = self._slots.observation()
        if isinstance(obs, dict):
            return {k: v[0] for k, v in obs.items()}
        return obs[0].copy()

    def _info(self) -> dict[str, Any]:
        task = self.task
        info: dict[str, Any] = {**self._slots.infos[0], "task": task.id, "task_params": task.as_dict()}
        success = self._slots.success()
        if success is not None:
            info["is_success"] = bool(success[0])
        return info
