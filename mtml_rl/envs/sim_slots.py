"""The simulator slot engine: N simulators of one family, each running its own task.

The counterpart of :class:`~mtml_rl.envs.engine.TaskSlots` for a
:class:`~mtml_rl.families.sim.SimFamily`, with the same interface
(:class:`~mtml_rl.envs.engine.SlotEngine`). Both
:class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` (one slot, no autoreset) and
:class:`~mtml_rl.envs.sim_vector.SimVectorEnv` (N slots, autoreset) run on it, so task
scheduling, observation layouts, history windows and trials are one code path. The
simulators are stepped one after another in this process, or on threads
(:mod:`~mtml_rl.envs.sim_threads`) with the same results.

Randomness of slot ``i`` seeded with ``s``: its task stream is the numpy envs' one,
``SeedSequence(s, spawn_key=(1,))``, and its simulator is reset with seed ``s`` at the next
episode; later episodes continue the simulator's own generator, as a Gymnasium env reset
without a seed does. Slot ``i`` thus runs exactly what a single env reset with ``s`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.envs.config import EnvSetup
from mtml_rl.envs.engine import (
    TASK_STREAM_KEY,
    assemble_slots,
    check_trial_episodes,
    choose_tasks,
    record_transition,
    schedule_with_running,
    task_groups,
)
from mtml_rl.envs.observation import ContextCodec, ObsLayout
from mtml_rl.envs.sim_threads import SimStepper
from mtml_rl.envs.streams import SlotStreams
from mtml_rl.errors import TaskError
from mtml_rl.families.actions import follows_action_rule
from mtml_rl.families.base import Family
from mtml_rl.families.mujoco_split import SplitStep
from mtml_rl.families.sim import SimFamily, is_sim_family, overrides
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task


class SimSlots:
    """Simulators, tasks, randomness, observations and history of ``num_slots`` slots.

    :param family: the simulator-backed family instance
    :param spec: the spec (context normalization)
    :param tasks: the tasks this engine schedules
    :param num_slots: number of slots (one simulator each)
    :param sample: if true every new trial draws a task uniformly from ``tasks`` with the
        slot's seeded scheduler (from its group's tasks when the spec has categorical
        parameters: :func:`~mtml_rl.envs.engine.task_groups`); if false slot ``i`` always runs
        ``tasks[i % len(tasks)]``
    :param context: context visibility mode
    :param history_len: transitions kept in the observation's history window
    :param trial_episodes: a slot keeps its task, and its history window, for this many
        consecutive episodes
    :param render_mode: render mode of slot 0's simulator (the others never render)
    :param sim_threads: threads stepping the simulators (:mod:`~mtml_rl.envs.sim_threads`;
        1, the default, steps them one after another in the calling thread; a ``"human"``
        render mode always does); the results are the same either way
    """

    def __init__(
        self,
        family: SimFamily[Any],
        spec: TaskSpec,
        tasks: Sequence[Task],
        num_slots: int,
        *,
        sample: bool,
        context: str,
        history_len: int,
        trial_episodes: int = 1,
        render_mode: str | None = None,
        sim_threads: int = 1,
    ) -> None:
        check_trial_episodes(trial_episodes)
        self.family = family
        self.spec = spec
        self.num_slots = n = num_slots
        self.trial_episodes = trial_episodes
        # ContextCodec and ObsLayout read only the schema and the spaces, which SimFamily shares.
        self.codec = ContextCodec(spec, cast("type[Family]", type(family)))
        self.sims = [family.build(render_mode if i == 0 else None) for i in range(n)]
        self.originals = [family.snapshot(sim) for sim in self.sims]
        self.stepper = SimStepper(n, 1 if render_mode == "human" else sim_threads)
        self._task_reward = family.reward_hook()
        self._is_success = family.is_success if overrides(family, "is_success") else None
        space = self.sims[0].action_space
        unmapped = not overrides(family, "simulator_action") and follows_action_rule(space)
        self._to_simulator = None if unmapped else family.simulator_action
        """The agent's action to the simulator's (``None``: the same, as for the built-in families)."""
        splits = [family.split_step(sim) for sim in self.sims]
        self.splits = None if None in splits else cast("list[SplitStep]", splits)
        """Each simulator's split step, where all have one (only the physics on threads)."""
        wholes = [family.whole_step(sim) for sim in self.sims]
        self.steps = [sim.step if w is None else w for sim, w in zip(self.sims, wholes, strict=True)]
        """Each simulator's step when stepped whole: the family's cheaper equal step, or its own."""
        self.layout = ObsLayout(cast(Family, family), self.codec, context, history_len)
        self.discrete = isinstance(family.action_space(), spaces.Discrete)
        """Whether actions are discrete (one-hot encoded in the history window)."""
        self.task_streams = SlotStreams(n, 1, spawn_key=TASK_STREAM_KEY)
        self._sim_seeds: dict[int, int] = {}
        self.set_tasks(tasks, sample=sample)
        self.task_index = np.arange(n, dtype=np.int64) % len(self.tasks)
        self.params = [family.params(task) for task in self.current_tasks()]
        self.context = self.context_table[self.task_index].copy()
        self.obs = np.zeros((n, self.layout.obs_dim), dtype=np.float32)
        self.infos: list[dict[str, Any]] = [{} for _ in range(n)]
        """The simulator's info of each slot's last reset or step (task terms replaced)."""
        self.sim_truncated = np.zeros(n, dtype=bool)
        """Each slot's simulator ``truncated`` flag of the last step (false for unwrapped envs)."""
        h = history_len
        self.history = np.zeros((n, h, self.layout.row_dim), dtype=np.float32) if h > 0 else None
        self.episode_in_trial = np.zeros(n, dtype=np.int64)
        self._success: np.ndarray | None = None

    # -- tasks ----------------------------------------------------------------------------
    def set_tasks(self, tasks: Sequence[Task], *, sample: bool) -> None:
        """Replace the scheduled tasks; slots switch at their next new trial (tasks still
        running stay nameable by ``task_index``, as in ``TaskSlots``)."""
        if not tasks:
            raise TaskError("at least one task is needed")
        running = self.current_tasks() if hasattr(self, "task_index") else []
        self.tasks, running_index = schedule_with_running(tasks, running)
        self.n_scheduled = len(tasks)
        self.sample = sample
        self.groups = task_groups(self.spec, tasks, self.num_slots)
        self.context_table = self.codec.encode(self.tasks)
        if running:
            self.task_index = running_index
        self._pending: dict[int, int] = {}

    def force_task(self, slot: int, task: Task) -> None:
        """Make ``slot`` run ``task`` at its next reset only; the scheduler's draw is still
        consumed, so the tasks after it are those the seed gives (as in ``TaskSlots``)."""
        if task not in self.tasks:
            self.tasks = (*self.tasks, task)
            self.context_table = self.codec.encode(self.tasks)
        self._pending[slot] = self.tasks.index(task)

    def current_tasks(self) -> list[Task]:
        """The task each slot currently runs (until its next new trial, even after :meth:`set_tasks`)."""
        return [self.tasks[i] for i in self.task_index]

    # -- randomness -----------------------------------------------------------------------
    def seed(self, seeds: Sequence[int]) -> None:
        """Reseed slot ``i``'s task stream with ``seeds[i]``; its simulator is reset with
        ``seeds[i]`` at the slot's next reset."""
        self.task_streams.seed(seeds)
        self._sim_seeds = {i: int(s) for i, s in enumerate(seeds)}

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self.task_streams.seeded

    def rng_state(self) -> dict[str, Any]:
        """The task streams' and the simulators' random state (for checkpoints)."""
        return {
            "task": self.task_streams.get_state(),
            "sim": [sim.np_random.bit_generator.state for sim in self.sims],
            "sim_seeds": dict(self._sim_seeds),
        }

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`rng_state`."""
        if len(state["sim"]) != self.num_slots:
            raise TaskError(f"the random state holds {len(state['sim'])} simulators, not {self.num_slots}")
        self.task_streams.set_state(state["task"])
        for sim, sim_state in zip(self.sims, state["sim"], strict=True):
            sim.np_random.bit_generator.state = sim_state
        self._sim_seeds = dict(state.get("sim_seeds", {}))

    # -- episodes -------------------------------------------------------------------------
    def reset_slots(self, idx: np.ndarray, *, copy_obs: bool = True, new_trial: bool = True) -> None:
        """Start a new episode in the slots ``idx``.

        :param copy_obs: write into a fresh observation array, so that arrays handed out
            earlier are never changed
        :param new_trial: start a new trial (next task, empty history); if false, slots
            whose trial has episodes left restart with the same task and history
        """
        if copy_obs:
            self.obs = self.obs.copy()
        if not new_trial and self.trial_episodes > 1:
            going_on = self.episode_in_trial[idx] < self.trial_episodes - 1
            for slot in idx[going_on].tolist():
                self.episode_in_trial[slot] += 1
                self._reset_sim(slot)
            idx = idx[~going_on]
        if idx.size == 0:
            return
        self.episode_in_trial[idx] = 0
        chosen = choose_tasks(
            self.task_streams,
            idx,
            self.n_scheduled,
            sample=self.sample,
            pending=self._pending,
            groups=self.groups,
        )
        self.task_index[idx] = chosen
        self.context[idx] = self.context_table[chosen]
        for slot, task_index in zip(idx.tolist(), chosen.tolist(), strict=True):
            self.params[slot] = self.family.params(self.tasks[task_index])
            self.family.apply_task(self.sims[slot], self.params[slot], self.originals[slot])
            self._reset_sim(slot)
        if self.history is not None:
            self.history[idx] = 0.0

    def _reset_sim(self, slot: int) -> None:
        """Reset the slot's simulator (with its pending seed, if any)."""
        obs, info = self.sims[slot].reset(seed=self._sim_seeds.pop(slot, None))
        self.obs[slot] = obs
        self.infos[slot] = info
        self.sim_truncated[slot] = False
        self._update_success(slot, obs)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance every slot by one transition; returns ``(reward, terminated)``.

        Row ``i`` of ``action`` goes to slot ``i``'s simulator through the family's
        :meth:`~mtml_rl.families.sim.SimFamily.simulator_action` (unchanged where the
        simulator's space is already Discrete or [-1, 1]); it is not clipped (MuJoCo clamps
        controls to their range and LunarLander clips), as in Gymnasium.
        """
        to_simulator, task_reward = self._to_simulator, self._task_reward
        actions = list(action) if to_simulator is None else [to_simulator(a) for a in action]
        results = self.stepper.step(self.steps, actions, self.splits)
        sim_obs, sim_rewards, terminated, truncated, sim_infos = zip(*results, strict=True)
        if task_reward is None:
            rewards = [float(r) for r in sim_rewards]
            self.infos = list(sim_infos)  # fresh dicts at every simulator step
        else:  # the task reward's terms written into a copy of each simulator's info
            self.infos = [dict(info) for info in sim_infos]
            rewards = [
                task_reward(params, a, float(r), info)
                for params, a, r, info in zip(self.params, actions, sim_rewards, self.infos, strict=True)
            ]
        reward = np.array(rewards, dtype=np.float64)
        self.sim_truncated = np.array(truncated, dtype=bool)
        obs = np.array(sim_obs, dtype=np.float32)
        if self._is_success is not None:
            at_end = self.family.success_only_at_termination
            for i, row in enumerate(sim_obs):
                self._update_success(i, row, known=False if at_end and not terminated[i] else None)
        if self.history is not None:
            record_transition(self.history, self.obs, action, reward, discrete=self.discrete)
        self.obs = obs
        return reward, np.array(terminated, dtype=bool)

    def _update_success(self, slot: int, sim_obs: np.ndarray, known: bool | None = None) -> None:
        """Record the slot's success flag: ``known`` where given (a step that cannot succeed:
        :attr:`~mtml_rl.families.sim.SimFamily.success_only_at_termination`), else the
        family's test."""
        if known is not None:
            flag: bool | None = known
        else:
            flag = self.family.is_success(self.sims[slot], self.params[slot], sim_obs, self.infos[slot])
        if flag is None:
            return
        if self._success is None:
            self._success = np.zeros(self.num_slots, dtype=bool)
        self._success[slot] = bool(flag)

    # -- observations ---------------------------------------------------------------------
    def observation(self, idx: np.ndarray | None = None) -> Any:
        """The assembled observation of every slot (or of the slots ``idx``)."""
        return assemble_slots(self.layout, self.obs, self.context, self.history, idx)

    def success(self) -> np.ndarray | None:
        """Per-slot success flags, where the family defines success."""
        return None if self._success is None else self._success.copy()

    def render(self) -> Any:
        """Slot 0's simulator frame."""
        return self.sims[0].render()

    def close(self) -> None:
        """Stop the stepping threads and close every simulator."""
        self.stepper.close()
        for sim in self.sims:
            sim.close()


def sim_family(setup: EnvSetup) -> SimFamily[Any]:
    """The setup's family as a :class:`SimFamily`; a clear error for a numpy family or an
    empty split."""
    family: object = setup.family
    if not is_sim_family(type(family)):
        raise TaskError(
            f"{setup.spec.id}: family {setup.spec.family!r} is a numpy family; "
            "build it with MultiTaskEnv or MultiTaskVectorEnv (gym.make does so)"
        )
    if not setup.tasks:
        raise TaskError(
            f"{setup.spec.id}: split {setup.split!r} holds no tasks (its size in the spec is 0); "
            "choose another split or pass task="
        )
    return cast(SimFamily[Any], family)


def simulator_fps(sim: gym.Env[Any, Any]) -> int:
    """The simulator's ``render_fps`` (50 where it declares none)."""
    return int(sim.metadata.get("render_fps", 50))
