"""One entry point for every family: the numpy or the simulator env of a spec.

Training, phase-2 adaptation, the baselines and evaluation build their environments here,
so numpy families (batched dynamics) and simulator-backed ones (MuJoCo, Box2D) go through
the same code paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from mtml_rl.envs.sim_env import SimMultiTaskEnv
from mtml_rl.envs.sim_vector import SimVectorEnv
from mtml_rl.envs.single import MultiTaskEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.families.sim import is_sim_family
from mtml_rl.specs.spec import TaskSpec, resolve_spec


def is_sim_spec(spec: str | Path | TaskSpec) -> bool:
    """Whether ``spec``'s family runs in a simulator (a :class:`~mtml_rl.families.sim.SimFamily`)."""
    return is_sim_family(resolve_spec(spec).family_cls)


def episodes_start_independently(spec: str | Path | TaskSpec) -> bool:
    """Whether a slot's ``j``-th episode starts from the same state however its earlier episodes
    were played: true for numpy families (their dynamics draw no random numbers, and every reset
    draws one row of the slot's initial-state stream), not assumed for simulators (some draw
    random numbers while stepping, e.g. Box2D's LunarLander).

    Rollouts then play a task's trials in parallel slots (:mod:`mtml_rl.rollouts.plan`).
    """
    return not is_sim_spec(spec)


def make_task_vector_env(spec: str | TaskSpec, **kwargs: Any) -> MultiTaskVectorEnv:
    """A vector env of ``spec``: :class:`MultiTaskVectorEnv` for a numpy family,
    :class:`~mtml_rl.envs.sim_vector.SimVectorEnv` for a simulator-backed one.

    :param spec: a registered id, a spec file path or a :class:`TaskSpec`
    :param kwargs: the vector env's keyword arguments (``num_envs``, ``split``, ``task``,
        ``tasks``, ``context``, ``history_len``, ``trial_episodes``, ...)
    """
    resolved = resolve_spec(spec)
    if is_sim_spec(resolved):
        return SimVectorEnv(resolved, **kwargs)
    return MultiTaskVectorEnv(resolved, **kwargs)


def make_task_env(spec: str | TaskSpec, **kwargs: Any) -> gym.Env[Any, Any]:
    """A single env of ``spec`` (no time limit): :class:`MultiTaskEnv` for a numpy family,
    :class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` for a simulator-backed one.

    :param spec: a registered id, a spec file path or a :class:`TaskSpec`
    :param kwargs: the env's keyword arguments (``split``, ``task``, ``context``,
        ``history_len``, ``trial_episodes``, ``render_mode``)
    """
    resolved = resolve_spec(spec)
    if is_sim_spec(resolved):
        return SimMultiTaskEnv(resolved, **kwargs)
    return MultiTaskEnv(resolved, **kwargs)
