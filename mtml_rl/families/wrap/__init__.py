"""The generic family ``gymnasium``: any registered Gymnasium id as a family, from a spec alone.

A spec says ``family: gymnasium`` and declares, in its ``gymnasium:`` block, the id and
where each parameter lives (an attribute of the unwrapped environment or an entry of its
MuJoCo model), with physical bounds; ``derived:`` recomputes attributes the environment
caches. See ``docs/families.md``.
"""

from __future__ import annotations

from mtml_rl.families.wrap.block import DerivedValue, GymnasiumBlock, WrappedParameter, parse_block
from mtml_rl.families.wrap.family import GymnasiumFamily, wrapped_family

__all__ = [
    "DerivedValue",
    "GymnasiumBlock",
    "GymnasiumFamily",
    "WrappedParameter",
    "parse_block",
    "wrapped_family",
]
