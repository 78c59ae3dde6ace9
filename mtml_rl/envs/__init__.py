"""Environments: the single multi-task env, the batched vector env (numpy families), their
simulator counterparts (MuJoCo, Box2D), the factory choosing between them, the SB3 adapter."""

from __future__ import annotations

from mtml_rl.envs.factory import make_task_env, make_task_vector_env
from mtml_rl.envs.sim_env import SimMultiTaskEnv
from mtml_rl.envs.sim_vector import SimVectorEnv
from mtml_rl.envs.single import MultiTaskEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv

__all__ = [
    "MultiTaskEnv",
    "MultiTaskVectorEnv",
    "SimMultiTaskEnv",
    "SimVectorEnv",
    "make_task_env",
    "make_task_vector_env",
]
