"""The multi-task vector environment of simulator-backed families (MuJoCo, Box2D)."""

from __future__ import annotations

from typing import Any

from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.engine import SlotEngine
from mtml_rl.envs.sim_slots import SimSlots, sim_family, simulator_fps
from mtml_rl.envs.sim_threads import resolve_sim_threads
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.specs.spec import TaskSpec


class SimVectorEnv(MultiTaskVectorEnv):
    """``num_envs`` simulators of a :class:`~mtml_rl.families.sim.SimFamily`, a task in each.

    The same constructor, interface and conventions as :class:`MultiTaskVectorEnv`
    (``split=``/``task=``/``tasks=``, context modes, history window, trials, the spec's time
    limit, ``SAME_STEP`` autoreset with ``info["final_obs"]``, ``info["task_index"]``,
    ``info["final_task_index"]`` and, where the family defines success,
    ``info["final_is_success"]``), so training, adaptation and evaluation use it unchanged.
    The engine is :class:`~mtml_rl.envs.sim_slots.SimSlots`: the simulators step one after
    another in this process, or, with ``sim_threads``, on that many threads of it (MuJoCo
    releases the GIL while it integrates), with the same results. Gymnasium's v5
    HalfCheetah, Hopper, Walker2d and Ant are stepped through their split step
    (:mod:`~mtml_rl.families.mujoco_split`): the same results as their ``step``, with the
    integration alone on the threads. A reset with seed ``s``
    runs slot ``i`` exactly as a :class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` reset with
    seed ``s + i`` (task sequence, simulator draws, observations and rewards); ``render()``
    shows slot 0's simulator.

    :param spec: a registered id, a spec file path or a :class:`~mtml_rl.specs.spec.TaskSpec`
    :param args: :class:`MultiTaskVectorEnv`'s positional arguments after ``spec``
    :param sim_threads: threads stepping the simulators: 1 (the default) steps them one after
        another in the calling thread, ``n`` on ``min(n, num_envs)`` threads, ``"auto"`` on one
        thread per usable CPU (at most one per slot); a gain needs idle cores
        (``scripts/bench_sim_envs.py`` measures it)
    :param kwargs: :class:`MultiTaskVectorEnv`'s keyword arguments
    """

    def __init__(self, spec: str | TaskSpec, *args: Any, sim_threads: int | str = 1, **kwargs: Any) -> None:
        self._sim_threads_asked = sim_threads
        super().__init__(spec, *args, **kwargs)

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
            sim_threads=resolve_sim_threads(self._sim_threads_asked, self.num_envs),
        )
        self.metadata = {**self.metadata, "render_fps": simulator_fps(slots.sims[0])}
        self._sim_slots = slots
        return slots

    @property
    def sim_threads(self) -> int:
        """The number of threads stepping the simulators (1: none besides the caller's)."""
        return self._sim_slots.stepper.threads

    def render(self) -> tuple[Any, ...] | None:
        """An RGB frame of slot 0's simulator (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            return None
        return (self._sim_slots.render(),)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every simulator."""
        self._sim_slots.close()
