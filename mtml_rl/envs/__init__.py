"""Environments: the single multi-task env, the batched vector env, the SB3 adapter."""

from __future__ import annotations

from mtml_rl.envs.single import MultiTaskEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv

__all__ = ["MultiTaskEnv", "MultiTaskVectorEnv"]
