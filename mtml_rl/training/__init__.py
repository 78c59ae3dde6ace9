"""Training with SB3: the config, the method interface and registry, the run artifact and its
folder, the training loop, resume."""

from __future__ import annotations

from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method, MethodEnv, PolicySpec
from mtml_rl.training.registry import get_method, method_names, register_method
from mtml_rl.training.run import Run
from mtml_rl.training.train import resume, train

__all__ = [
    "Method",
    "MethodEnv",
    "PolicySpec",
    "Run",
    "TrainConfig",
    "get_method",
    "method_names",
    "register_method",
    "resume",
    "train",
]
