"""The suite's action-space rule, and the map that makes a simulator's actions follow it.

Every family's action space is either ``Discrete(n)`` (actions ``0 .. n-1``) or a ``Box``
whose bounds are exactly ``[-1, 1]``: policies, history windows (one-hot or clipped
actions), action noise and the hyperparameter tables all assume it. :func:`check_action_space`
enforces the rule on any family. :class:`ActionMap` turns a simulator's own bounded
``Box`` or shifted ``Discrete`` space into a space that follows the rule and maps the
agent's actions back, which is what :class:`~mtml_rl.families.sim.SimFamily` does by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from mtml_rl.errors import FamilyError


def follows_action_rule(space: spaces.Space[Any]) -> bool:
    """Whether ``space`` is ``Discrete(n)`` starting at 0 or a ``Box`` bounded by exactly [-1, 1].

    :param space: an action space
    """
    if isinstance(space, spaces.Discrete):
        return int(space.start) == 0
    if isinstance(space, spaces.Box):
        return bool(np.all(space.low == -1.0) and np.all(space.high == 1.0))
    return False


def check_action_space(space: spaces.Space[Any], family: str, fix: str) -> None:
    """Raise :class:`FamilyError` unless ``space`` follows the action rule.

    :param space: the family's action space
    :param family: the family's name (for the message)
    :param fix: how this kind of family fixes it
    """
    if not follows_action_rule(space):
        raise FamilyError(
            f"family {family!r} has the action space {space}, but a family's actions must be "
            f"Discrete(n) (starting at 0) or a Box bounded by exactly [-1, 1]; {fix}"
        )


@dataclass(frozen=True)
class ActionMap:
    """The agent's action space of a simulator and the map back to the simulator's actions.

    :param agent_space: the space that follows the rule (the simulator's own if it does)
    :param offset: added to a discrete action (the simulator's ``start``); unused for a Box
    :param center: midpoint of the simulator's Box bounds (``None``: actions pass unchanged)
    :param half_width: half the width of the simulator's Box bounds
    :param dtype: the simulator's action dtype
    """

    agent_space: spaces.Space[Any]
    offset: int = 0
    center: np.ndarray | None = None
    half_width: np.ndarray | None = None
    dtype: Any = None

    @classmethod
    def of(cls, space: spaces.Space[Any], family: str) -> ActionMap:
        """The map of a simulator whose action space is ``space``.

        :param space: the simulator's action space
        :param family: the family's name (for the message)
        :raises FamilyError: for an unbounded Box or a space that is neither Box nor Discrete
        """
        if follows_action_rule(space):
            return cls(space)
        if isinstance(space, spaces.Discrete):
            return cls(spaces.Discrete(int(space.n)), offset=int(space.start))
        if isinstance(space, spaces.Box) and space.is_bounded("both"):
            low, high = space.low.astype(np.float64), space.high.astype(np.float64)
            agent = spaces.Box(-1.0, 1.0, shape=space.shape, dtype=np.float32)
            return cls(agent, center=0.5 * (high + low), half_width=0.5 * (high - low), dtype=space.dtype)
        raise FamilyError(
            f"family {family!r}: its simulator's action space {space} is not a bounded Box or a "
            "Discrete space, so it cannot be normalized; override action_space() to return "
            "Discrete(n) or Box(-1, 1) and simulator_action() to map those actions back"
        )

    def to_simulator(self, action: Any) -> Any:
        """The simulator's action for the agent's ``action`` (unchanged where no map is needed).

        :param action: one slot's action in :attr:`agent_space`
        """
        if self.offset:
            return int(action) + self.offset
        if self.center is None or self.half_width is None:
            return action
        scaled = self.center + self.half_width * np.asarray(action, dtype=np.float64)
        return scaled.astype(self.dtype)
