"""The multi-task environment of simulator-backed families (MuJoCo, Box2D).

:class:`SimMultiTaskEnv` is the counterpart of :class:`~mtml_rl.envs.single.MultiTaskEnv`
for a :class:`~mtml_rl.families.sim.SimFamily`, on the same base
(:class:`~mtml_rl.envs.task_env.TaskEnv`): the same ``gym.make`` arguments (spec, split,
task, context mode, history window, trials), the same observation layouts and the same
seeded task scheduler, around one Gymnasium simulator environment
(:class:`~mtml_rl.envs.sim_slot.SimSlot`). Vectorize it with Gymnasium's
``SyncVectorEnv``/``AsyncVectorEnv`` (``gym.make_vec``) or SB3's ``SubprocVecEnv``: an env
reset with seed ``s + i`` runs its own task sequence; or use
:class:`~mtml_rl.envs.sim_vector.SimVectorEnv`, which runs N simulators with the vector
env's interface and runs slot ``i`` exactly as this env reset with ``s + i``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.sim_slot import SimSlot
from mtml_rl.envs.sim_slots import sim_family
from mtml_rl.envs.slot import SingleEngine
from mtml_rl.envs.task_env import TaskEnv
from mtml_rl.families.sim import SimFamily
from mtml_rl.tasks.task import Task


class SimMultiTaskEnv(TaskEnv):
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

    family: SimFamily[Any]

    def _build_engine(self, setup: EnvSetup, trial_episodes: int) -> SingleEngine:
        """One simulator of the setup's family (a clear error for a numpy family)."""
        self._sim_slot = SimSlot(
            sim_family(setup),
            setup.spec,
            setup.tasks,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
            render_mode=self.render_mode,
        )
        return self._sim_slot

    @property
    def task(self) -> Task:
        """The task of the current episode."""
        if not self._sim_slot.seeded:
            raise gym.error.ResetNeeded("no task yet: call reset() first")
        return self._sim_slot.current_task()

    @property
    def simulator(self) -> gym.Env[Any, Any]:
        """The unwrapped Gymnasium environment that runs the physics."""
        return self._sim_slot.sim
