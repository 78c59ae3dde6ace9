"""Parameterized environment families and their registry.

Two bases, one per kind of dynamics:

- :class:`Family`: pure batched numpy dynamics (``step(state, action, params)``);
- :class:`SimFamily`: tasks applied to a Gymnasium environment that owns the physics
  (MuJoCo, Box2D, or any registered id).

:func:`register_family`, the ``mtml_rl.families`` entry-point group and
``family: "pkg.module:Class"`` in a spec add families of one's own (``docs/families.md``).
"""

from __future__ import annotations

from mtml_rl.families.base import Family, StepOutput
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.families.registry import (
    ENTRY_POINT_GROUP,
    family_names,
    get_family,
    register_family,
)
from mtml_rl.families.sim import MissingExtraError, SimFamily, TaskReward

__all__ = [
    "ENTRY_POINT_GROUP",
    "Family",
    "MissingExtraError",
    "ReturnLevel",
    "SimFamily",
    "StepOutput",
    "TaskReward",
    "family_names",
    "get_family",
    "register_family",
]
