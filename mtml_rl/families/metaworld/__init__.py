"""Meta-World's v3 manipulation environments as a task family (extra ``mtml-rl[metaworld]``).

Importing this package does not import Meta-World; building an environment does.
"""

from __future__ import annotations

from mtml_rl.families.metaworld.family import PROTOCOL, MetaWorld, MetaWorldParams
from mtml_rl.families.metaworld.table import BENCHMARKS, ENVS, METAWORLD_VERSION

__all__ = ["BENCHMARKS", "ENVS", "METAWORLD_VERSION", "PROTOCOL", "MetaWorld", "MetaWorldParams"]
