"""mtml-rl: multitask and meta reinforcement learning on parameterized Gymnasium families.

Importing the package registers ``mtml/<Name>-v<version>`` for every built-in spec and
changes no other global state.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

register_builtin()

__all__ = [
    "Family",
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
    "load_spec_file",
    "make",
    "make_vec",
    "register_builtin",
    "register_family",
    "register_spec",
    "resolve_spec",
]
