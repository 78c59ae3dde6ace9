"""The multi-task environment of simulator-backed families (MuJoCo, Box2D).

:class:`SimMultiTaskEnv` is the counterpart of :class:`~mtml_rl.envs.single.MultiTaskEnv`
for a :class:`~mtml_rl.families.sim.SimFamily`: the same ``gym.make`` arguments (spec,
split, task, context mode, history window), the same observation layouts and the same
seeded task scheduler, around one Gymnasium simulator environment. Vectorize it with
Gymnasium's ``SyncVectorEnv``/``AsyncVectorEnv`` (``gym.make_vec``) or SB3's
``SubprocVecEnv``: an env reset with seed ``s + i`` runs its own task sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat, cast

import gymnasium as gym
import numpy as np

from mtml_rl.envs.config import EnvSetup, coerce_task, resolve_setup
from mtml_rl.envs.engine import TASK_STREAM_KEY
from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.single import entropy_seed
from mtml_rl.envs.streams import SlotStreams
from mtml_rl.errors import TaskError
from mtml_rl.families.base import Family
from mtml_rl.families.sim import SimFamily, is_sim_family
from mtml_rl.tasks.spec import TaskSpec
from mtml_rl.tasks.task import Task

_SLOT0 = np.zeros(1, dtype=np.int64)


class TaskScheduler:
    """Chooses the task of every episode, from a stream seeded by ``reset(seed=...)``.

    The stream is ``SeedSequence(seed, spawn_key=(1,))``, the task stream of the numpy
    environments: with ``sample`` each episode takes ``tasks[floor(u * len(tasks))]`` for
    the stream's next uniform ``u``; without it every episode runs ``tasks[0]``.

    :param tasks: the tasks to schedule
    :param sample: draw a task at every episode (a split) or keep ``tasks[0]``
    """

    def __init__(self, tasks: Sequence[Task], *, sample: bool) -> None:
        self._stream = SlotStreams(1, 1, spawn_key=TASK_STREAM_KEY)
        self.set_tasks(tasks, sample=sample)

    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks (from the next episode on)."""
        if not tasks:
            raise TaskError("at least one task is needed")
        self.tasks = tuple(tasks)
        self.sample = sample

    def seed(self, seed: int) -> None:
        """Restart the stream from ``seed``."""
        self._stream.seed([seed])

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self._stream.seeded

    def next(self, forced: Task | None = None) -> Task:
        """The next episode's task; ``forced`` overrides it but the draw is still consumed,
        so the tasks after a forced episode are those the seed gives."""
        index = 0
        if self.sample:
            u = float(self._stream.draw(_SLOT0)[0, 0])
            index = min(int(u * len(self.tasks)), len(self.tasks) - 1)
        return forced if forced is not None else self.tasks[index]

    def get_state(self) -> dict[str, Any]:
        """The stream's state (for checkpoints)."""
        return self._stream.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`."""
        self._stream.set_state(state)


class SimMultiTaskEnv(gym.Env[Any, Any]):
    """One simulator environment of a task family; each reset starts a task.

    With ``split=`` every reset draws the next task from the split with a scheduler
    seeded by ``reset(seed=...)``; with ``task=`` the task is fixed. The task is applied
    to the simulator before its reset, which is seeded with the same ``seed``, so at a
    family's reference task the env reproduces its Gymnasium counterpart step for step
    (observations as float32). ``info`` holds the simulator's info (task-specific reward
    terms replaced), ``task``, ``task_params`` and, where defined, ``is_success``.

    Actions go to the simulator as given (MuJoCo clamps controls to their range and
    LunarLander clips), as in Gymnasium; only their shape is checked.

    :param spec: a registered id, a spec file path or a :class:`TaskSpec`
    :param split: the split to draw tasks from (default ``train``; ``test`` is the union
        of the held-out splits)
    :param task: one fixed task: a :class:`Task` or a mapping of parameter values
    :param context: ``hidden``, ``visible`` or ``privileged`` (default: the spec's)
    :param history_len: include the last ``history_len`` transitions in the observation
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
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        setup = resolve_setup(spec, split=split, task=task, context=context, history_len=history_len)
        self.family: SimFamily[Any] = _sim_family(setup)
        if not setup.tasks:
            raise TaskError(
                f"{setup.spec.id}: split {setup.split!r} holds no tasks (its size in the spec is 0); "
                "choose another split or pass task="
            )
        self.render_mode = render_mode
        self.task_spec = setup.spec
        self.split = setup.split
        self.context_mode = setup.context
        self._sim = self.family.build(render_mode)
        self._original = self.family.snapshot(self._sim)
        self.metadata = {**self.metadata, "render_fps": self._sim.metadata.get("render_fps", 50)}
        # ContextCodec and ObsLayout read only the schema and the spaces, which SimFamily shares.
        self._codec = ContextCodec(setup.spec, cast("type[Family]", type(self.family)))
        self._layout = ObsLayout(cast(Family, self.family), self._codec, setup.context, setup.history_len)
        self.observation_space = self._layout.single_space
        self.action_space = self.family.action_space()
        self._scheduler = TaskScheduler(setup.tasks, sample=setup.sample)
        self._history = np.zeros((setup.history_len, self._layout.row_dim), dtype=np.float32)
        self._task: Task | None = None
        self._params: Any = None
        self._context = np.zeros(self._codec.dim, dtype=np.float32)
        self._obs = np.zeros(self._layout.obs_dim, dtype=np.float32)

    # -- tasks ----------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        """The task of the current episode."""
        if self._task is None:
            raise gym.error.ResetNeeded("no task yet: call reset() first")
        return self._task

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks this env schedules."""
        return self._scheduler.tasks

    @property
    def simulator(self) -> gym.Env[Any, Any]:
        """The unwrapped Gymnasium environment that runs the physics."""
        return self._sim

    def set_task(self, task: Any) -> None:
        """Fix the task (a :class:`Task` or a mapping of values) from the next reset on."""
        self._scheduler.set_tasks((coerce_task(self.task_spec, task),), sample=False)

    def rng_state(self) -> dict[str, Any]:
        """The task scheduler's and the simulator's random state (for checkpoints)."""
        return {"task": self._scheduler.get_state(), "sim": self._sim.np_random.bit_generator.state}

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        self._scheduler.set_state(state["task"])
        self._sim.np_random.bit_generator.state = state["sim"]

    # -- API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode; ``options={"task": ...}`` runs that task in this episode only."""
        super().reset(seed=seed)
        if seed is not None:
            self._scheduler.seed(seed)
        elif not self._scheduler.seeded:
            self._scheduler.seed(entropy_seed())
        forced = None
        if options and options.get("task") is not None:
            forced = coerce_task(self.task_spec, options["task"])
        task = self._scheduler.next(forced)
        self._task, self._params = task, self.family.params(task)
        self._context = self._codec.encode([task])[0]
        self.family.apply_task(self._sim, self._params, self._original)
        obs, sim_info = self._sim.reset(seed=seed)
        self._obs = np.asarray(obs, dtype=np.float32)
        self._history[:] = 0.0
        return self._observation(), self._info(obs, sim_info)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """One transition of the current task. The time limit is added by ``gym.make``."""
        if self._task is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise TaskError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        obs, sim_reward, terminated, truncated, sim_info = self._sim.step(action)
        out = self.family.task_reward(self._params, action, float(sim_reward), sim_info)
        self._record(action, out.reward)
        self._obs = np.asarray(obs, dtype=np.float32)
        info = self._info(obs, {**sim_info, **out.terms})
        return self._observation(), out.reward, bool(terminated), bool(truncated), info

    def render(self) -> Any:
        """An RGB frame of the simulator (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode='rgb_array'; returning None")
            return None
        return self._sim.render()

    def close(self) -> None:
        """Close the simulator."""
        self._sim.close()

    # -- helpers --------------------------------------------------------------------------
    def _record(self, action: np.ndarray, reward: float) -> None:
        """Append the transition ``(obs, clipped action, reward)`` to the history window."""
        h, o = self._history, self._layout.obs_dim
        if len(h) == 0:
            return
        h[:-1] = h[1:]
        h[-1, :o] = self._obs
        h[-1, o:-1] = np.clip(action.astype(np.float32).reshape(-1), -1.0, 1.0)
        h[-1, -1] = reward

    def _observation(self) -> Any:
        history = self._history[None] if len(self._history) else None
        obs = self._layout.assemble(self._obs[None], self._context[None], history)
        if isinstance(obs, dict):
            return {k: v[0] for k, v in obs.items()}
        return obs[0].copy()

    def _info(self, obs: np.ndarray, sim_info: dict[str, Any]) -> dict[str, Any]:
        task = self.task
        info: dict[str, Any] = {**sim_info, "task": task.id, "task_params": task.as_dict()}
        success = self.family.is_success(self._sim, self._params, obs, sim_info)
        if success is not None:
            info["is_success"] = bool(success)
        return info


def _sim_family(setup: EnvSetup) -> SimFamily[Any]:
    family: object = setup.family
    if not is_sim_family(type(family)):
        raise TaskError(
            f"{setup.spec.id}: family {setup.spec.family!r} is a numpy family; "
            "build it with MultiTaskEnv or MultiTaskVectorEnv (gym.make does so)"
        )
    return cast(SimFamily[Any], family)
