"""The multi-task vector environment of simulator-backed families (MuJoCo, Box2D)."""

from __future__ import annotations

from typing import Any

from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.engine import SlotEngine
from mtml_rl.envs.sim_slots import SimSlots, sim_family, simulator_fps
from mtml_rl.envs.vector import MultiTaskVectorEnv


class SimVectorEnv(MultiTaskVectorEnv):
    """``num_envs`` simulators of a :class:`~mtml_rl.families.sim.SimFamily`, a task in each.

    The same constructor, interface and conventions as :class:`MultiTaskVectorEnv`
    (``split=``/``task=``/``tasks=``, context modes, history window, trials, the spec's time
    limit, ``SAME_STEP`` autoreset with ``info["final_obs"]``, ``info["task_index"]``,
    ``info["final_task_index"]`` and, where the family defines success,
    ``info["final_is_success"]``), so training, adaptation and evaluation use it unchanged.
    The engine is :class:`~mtml_rl.envs.sim_slots.SimSlots`: the simulators step one after
    another in this process. A reset with seed ``s`` runs slot ``i`` exactly as a
    :class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` reset with seed ``s + i`` (task sequence,
    simulator draws, observations and rewards); ``render()`` shows slot 0's simulator.
    """

    def _build_slots(self, setup: EnvSetup, trial_episodes: int) -> SlotEngine:
        """One simulator per slot (slot 0 renders, if a render mode is set)."""
        slots = SimSlots(
            sim_family(setup),
            setup.spec,
            setup.tasks,
            self.num_envs,
            sample=setup.sample,
            context=setup.context,
            history_len=setup.history_len,
            trial_episodes=trial_episodes,
            render_mode=self.render_mode,
        )
        self.metadata = {**self.metadata, "render_fps": simulator_fps(slots.sims[0])}
        self._sim_slots = slots
        return slots

    def render(self) -> tuple[Any, ...] | None:
        """An RGB frame of slot 0's simulator (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            return None
        return (self._sim_slots.render(),)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every simulator."""
        self._sim_slots.close()
