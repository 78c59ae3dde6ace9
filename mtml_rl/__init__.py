"""mtml-rl: multitask and meta reinforcement learning on parameterized Gymnasium families.

Importing the package registers ``mtml/<Name>-v<version>`` for every built-in spec and
changes no other global state. The method registry (``Method``, ``register_method``,
``get_method``, ``method_names``: :mod:`mtml_rl.methods`) is imported on first use, so that
``gym.make`` of an id does not import the training stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mtml_rl.envs import MultiTaskEnv, MultiTaskVectorEnv
from mtml_rl.families import Family, SimFamily, family_names, get_family, register_family
from mtml_rl.registration import make, make_vec, register_builtin, register_spec
from mtml_rl.specs import (
    Split,
    Splits,
    TaskSpec,
    build_splits,
    builtin_specs,
    load_spec_file,
    resolve_spec,
)
from mtml_rl.tasks import Task

if TYPE_CHECKING:
    from mtml_rl.methods import Method, get_method, method_names, register_method

__version__ = "0.1.0"
_METHOD_API = ("Method", "get_method", "method_names", "register_method")

register_builtin()


def __getattr__(name: str) -> Any:
    """The method registry's public names, imported on first use."""
    if name in _METHOD_API:
        import mtml_rl.methods

        return getattr(mtml_rl.methods, name)
    raise AttributeError(f"module 'mtml_rl' has no attribute {name!r}")


__all__ = [
    "Family",
    "Method",
    "MultiTaskEnv",
    "MultiTaskVectorEnv",
    "SimFamily",
    "Split",
    "Splits",
    "Task",
    "TaskSpec",
    "__version__",
    "build_splits",
    "builtin_specs",
    "family_names",
    "get_family",
    "get_method",
    "load_spec_file",
    "make",
    "make_vec",
    "method_names",
    "register_builtin",
    "register_family",
    "register_method",
    "register_spec",
    "resolve_spec",
]
