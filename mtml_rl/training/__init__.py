"""Training with SB3: the config, the method interface and registry, the run artifact and its
folder, the training loop, resume.

The names below are imported on first use, so that importing a light submodule
(:mod:`mtml_rl.training.config`, :mod:`mtml_rl.training.registry`) does not import torch
and Stable-Baselines3: ``mtml-rl --help`` and ``mtml-rl list`` start without them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtml_rl.training.config import TrainConfig
    from mtml_rl.training.method import Method, MethodEnv, PolicySpec
    from mtml_rl.training.registry import get_method, method_names, register_method
    from mtml_rl.training.run import Run
    from mtml_rl.training.train import resume, train

_EXPORTS = {
    "Method": "mtml_rl.training.method",
    "MethodEnv": "mtml_rl.training.method",
    "PolicySpec": "mtml_rl.training.method",
    "Run": "mtml_rl.training.run",
    "TrainConfig": "mtml_rl.training.config",
    "get_method": "mtml_rl.training.registry",
    "method_names": "mtml_rl.training.registry",
    "register_method": "mtml_rl.training.registry",
    "resume": "mtml_rl.training.train",
    "train": "mtml_rl.training.train",
}
"""Each public name and the module it is defined in."""


class _Package(types.ModuleType):
    """This package, whose attribute ``train`` stays the function :func:`train`: importing the
    submodule of the same name (:mod:`mtml_rl.training.train`) would otherwise bind the module
    in its place."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            value = value.train
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mtml_rl.training' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
