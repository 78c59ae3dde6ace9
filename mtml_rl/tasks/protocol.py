"""Protocol splits: task lists a family defines itself, for a benchmark's published protocol.

Most splits are drawn from a spec's regions with the spec's seed. A family may also define
*protocols*: named rules that give the exact tasks of some splits, so that results compare
with a benchmark's own (Meta-World's train and test tasks for a seed, say). A spec opts in
with ``protocol: <name>``; the family answers a :class:`ProtocolQuery` per split with the
values of its tasks, or ``None`` for a split the protocol leaves to the spec's regions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mtml_rl.tasks.params import ParamValue


@dataclass(frozen=True)
class ProtocolQuery:
    """What a family needs to list a protocol's tasks of one split.

    :param protocol: the protocol's name (one of the family's ``protocols``)
    :param split: the split (``train``, ``test-interpolation`` ...)
    :param size: how many tasks the spec asks for
    :param seed: the spec's seed
    :param fixed: the spec's fixed parameter values
    :param train_values: each varying categorical parameter's train values, in spec order
    :param held_out_values: each varying categorical parameter's extrapolation values
    """

    protocol: str
    split: str
    size: int
    seed: int
    fixed: Mapping[str, ParamValue]
    train_values: Mapping[str, tuple[str, ...]]
    held_out_values: Mapping[str, tuple[str, ...]]
