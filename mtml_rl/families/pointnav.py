"""PointNav: a point robot in the plane that must find and reach a hidden goal.

The dynamics never change across tasks: the action is a velocity command in
[-1, 1]^2, scaled to at most :data:`MAX_SPEED` per axis, and the robot stays inside a
square arena. Only the reward does: it is minus the distance to the goal ``(goal_x,
goal_y)``, which the observation (the robot's position) does not reveal. A policy must
infer the goal from the rewards it receives. Episodes never terminate; a state counts
as a success when the robot is within :data:`SUCCESS_RADIUS` of the goal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families.kernel import ArrayOps, KernelFamily, Row, Rows, Transition
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, param

DT = 0.1
"""Seconds between state updates."""
MAX_SPEED = 1.0
"""Speed (m/s) along each axis of a full action."""
ARENA = 2.0
"""The robot stays in ``[-ARENA, ARENA]^2`` (m)."""
SUCCESS_RADIUS = 0.1
"""Distance (m) to the goal that counts as reaching it."""
RESET_HALF_WIDTH = 0.1
"""The start position is uniform in ``[-RESET_HALF_WIDTH, RESET_HALF_WIDTH]^2`` (m)."""
FRAME_SIZE = 256


@dataclass(frozen=True)
class PointNavParams(FamilyParams):
    """Parameters of the PointNav family: the goal's position."""

    family: ClassVar[str] = "pointnav"

    goal_x: float = param(1.0, low=-ARENA, high=ARENA, unit="m", doc="x coordinate of the hidden goal")
    goal_y: float = param(0.0, low=-ARENA, high=ARENA, unit="m", doc="y coordinate of the hidden goal")


def goal_distance(xp: ArrayOps, state: Rows, params: Rows) -> Row:
    """Distance (m) from the robot to its goal."""
    return xp.hypot(state[0] - params[0], state[1] - params[1])


class PointNav(KernelFamily):
    """The PointNav family (two continuous actions: the x and y velocity commands).

    State rows: x, y (m). Observation: x, y. Reward: minus the distance from the next
    position to the goal (m).
    """

    name = "pointnav"
    params_cls = PointNavParams
    reference_id = None
    reference_return = ReturnLevel(
        "minus the distance to the goal each step: heading straight to a train goal (at "
        "most 1.5 m from the start) at full speed takes at most 15 steps, about -5 in "
        "all, then ~0 per step at the goal.",
        fixed=-5.0,
    )
    solved_level = ReturnLevel(
        "the goal reached and held: going straight to a train goal (at most 1.5 m away, "
        "0.1 m per step per axis) costs at most about -7; -10 leaves room for a few "
        "steps of inference.",
        fixed=-10.0,
    )
    n_reset_uniforms = 2
    render_fps = 10

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-ARENA, ARENA, shape=(2,), dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        low, high = -RESET_HALF_WIDTH, RESET_HALF_WIDTH
        return tuple(low + (high - low) * u for u in uniforms)

    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        position = xp.apply(
            lambda s, a: xp.clip(s + DT * (MAX_SPEED * xp.clip(a, -1.0, 1.0)), -ARENA, ARENA), state, action
        )
        reward = -goal_distance(xp, position, params)
        return position, reward, xp.full(reward, False)

    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        return state

    def succeeded(self, xp: ArrayOps, state: Rows, params: Rows) -> Row:
        """Whether each robot is within :data:`SUCCESS_RADIUS` of its goal."""
        return goal_distance(xp, state, params) <= SUCCESS_RADIUS

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        """A top view of slot 0: the arena (white), the goal's success disk (green), the robot (blue)."""
        frame = np.full((FRAME_SIZE, FRAME_SIZE, 3), 255, dtype=np.uint8)
        frame[[0, -1], :] = frame[:, [0, -1]] = 0
        scale = (FRAME_SIZE - 1) / (2 * ARENA)
        centres = np.arange(FRAME_SIZE) / scale - ARENA  # pixel -> metres
        x, y = np.meshgrid(centres, -centres)  # rows run from +y (top) to -y (bottom)
        goal = np.hypot(x - params[0, 0], y - params[1, 0]) <= max(SUCCESS_RADIUS, 2 / scale)
        robot = np.hypot(x - state[0, 0], y - state[1, 0]) <= 0.05
        frame[goal] = (60, 170, 60)
        frame[robot] = (40, 80, 220)
        return frame
