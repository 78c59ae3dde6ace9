"""Documented returns of a family's tasks: a reference return and a solved level.

A family may say what a competent agent earns on its tasks (its *reference return*, used to
normalize scores where no oracle run is evaluated alongside) and the mean return at which a
task counts as solved (its *solved level*, which reports check the oracle against). Both are
class attributes of the family (:attr:`Family.reference_return <mtml_rl.families.Family>`,
``solved_level``), so a family brought by a user documents them the way the built-ins do, and
every process that finds the family finds them.

A level is ``fixed + per_step * max_episode_steps``: a return that accrues per step scales
with the spec's episode length, a threshold such as Gymnasium's does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mtml_rl.errors import FamilyError


@dataclass(frozen=True)
class ReturnLevel:
    """A documented return over one episode of a family's task.

    :param reason: where the value comes from, in a sentence (shown in reports)
    :param fixed: the part of the return that does not depend on the episode length
    :param per_step: the part earned per step of the episode (times the spec's
        ``max_episode_steps``)
    :raises FamilyError: for an empty reason or a value that is not a finite number
    """

    reason: str
    fixed: float = 0.0
    per_step: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise FamilyError("a ReturnLevel needs a reason: say in a sentence where the value comes from")
        for name in ("fixed", "per_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise FamilyError(f"ReturnLevel {name} = {value!r} is not a finite number; give a float")

    def value(self, max_episode_steps: int) -> float:
        """The level over an episode of ``max_episode_steps`` steps."""
        return float(self.fixed + self.per_step * max_episode_steps)
