"""MountainCarContinuous: drive an underpowered car out of a valley by rocking it.

At default parameters this reproduces Gymnasium's ``MountainCarContinuous-v0`` step for
step (its action is ours: both lie in [-1, 1]). Gymnasium mixes float32 and float64 in a
particular way, and this family mirrors it exactly:

- the reset position is a float64 draw and the first step computes ``3 * position`` in
  float64; from then on the state is stored as float32 and ``3 * position`` is a float32
  product;
- the velocity increment ``force * power - gravity * cos(3 x)`` is computed in float32
  (a float32 action times a Python float stays float32 under numpy 2's promotion rules);
- comparisons with the bounds and the goal compare float32 values with the bounds
  rounded to float32.

The state therefore carries a third row, ``fresh``: 1 right after a reset (the state
still holds the float64 draw), 0 afterwards. The engine's effective power
``engine_power * actuator_gain`` is computed from the parameters
(:meth:`MountainCarContinuous.derive`). Float32 operations are written with ``xp.f32``
(:mod:`mtml_rl.families.kernel`), so the batched and the one-slot runs are one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families.kernel import ArrayOps, KernelFamily, Row, Rows, Transition
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, param

MIN_POSITION, MAX_POSITION = -1.2, 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.45
GOAL_VELOCITY = 0.0
RESET_LOW, RESET_HIGH = -0.6, -0.4
ACTION_COST = 0.1
GOAL_REWARD = 100.0

F32_MIN_POSITION, F32_MAX_POSITION = float(np.float32(MIN_POSITION)), float(np.float32(MAX_POSITION))
F32_MAX_SPEED = float(np.float32(MAX_SPEED))
F32_GOAL_POSITION = float(np.float32(GOAL_POSITION))
"""The bounds and the goal rounded to float32, as Gymnasium's float32 state meets them."""


@dataclass(frozen=True)
class MountainCarParams(FamilyParams):
    """Physical parameters of the MountainCarContinuous family (Gymnasium's step units)."""

    family: ClassVar[str] = "mountaincar_continuous"

    engine_power: float = param(
        0.0015, low=1e-5, high=0.05, unit="1/step^2", doc="velocity change per step of a full push"
    )
    gravity: float = param(
        0.0025, low=1e-5, high=0.05, unit="1/step^2", doc="velocity change per step on the steepest slope"
    )
    actuator_gain: float = param(
        1.0, low=-20.0, high=20.0, doc="multiplier of the engine force; negative reverses the engine"
    )


class MountainCarContinuous(KernelFamily):
    """The MountainCarContinuous family (one continuous action: the engine force).

    State rows: position, velocity, ``fresh`` (see the module docstring). Observation:
    position and velocity. Reward: ``-0.1 a^2`` per step plus 100 on reaching the goal,
    which terminates the episode.
    """

    name = "mountaincar_continuous"
    params_cls = MountainCarParams
    reference_id = "MountainCarContinuous-v0"
    reference_return = ReturnLevel(
        "+100 at the flag minus the action cost of rocking there: trained agents score "
        "90-95 on MountainCarContinuous-v0 (its solved threshold is 90).",
        fixed=93.0,
    )
    solved_level = ReturnLevel(
        "Gymnasium's MountainCarContinuous-v0 threshold (90).",
        fixed=90.0,
    )
    n_reset_uniforms = 1
    success_is_termination = True
    render_fps = 30

    def observation_space(self) -> spaces.Box:
        low = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32)
        high = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32)
        return spaces.Box(low, high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def derive(self, xp: ArrayOps, params: Rows) -> tuple[Row, ...]:
        """The effective power ``engine_power * actuator_gain`` (float32, as Gymnasium's)."""
        engine_power, _, gain = params
        return (xp.f32(engine_power * gain),)

    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        position = RESET_LOW + (RESET_HIGH - RESET_LOW) * uniforms[0]
        return position, xp.full(position, 0.0), xp.full(position, 1.0)

    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        _, gravity, _ = params
        (power,) = derived
        position, velocity, fresh = state
        force = xp.f32(xp.clip(action[0], -1.0, 1.0))
        three_x = 3 * position
        three_x = xp.where(fresh > 0, three_x, xp.f32(three_x))
        slope = xp.f32(gravity * xp.cos(three_x))
        increment = xp.f32(xp.f32(force * power) - slope)
        v = xp.clip(xp.f32(velocity + increment), -F32_MAX_SPEED, F32_MAX_SPEED)
        x = xp.clip(xp.f32(position + v), F32_MIN_POSITION, F32_MAX_POSITION)
        v = xp.where((x == F32_MIN_POSITION) & (v < 0), 0.0, v)
        terminated = (x >= F32_GOAL_POSITION) & (v >= GOAL_VELOCITY)
        force64 = xp.f64(force)
        reward = xp.where(terminated, GOAL_REWARD, 0.0) - force64 * force64 * ACTION_COST
        return (x, v, xp.full(position, 0.0)), reward, terminated

    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        return state[:2]

    def succeeded(self, xp: ArrayOps, state: Rows, params: Rows) -> Row:
        """Whether the car stands at the goal (the terminal condition)."""
        return (xp.f32(state[0]) >= F32_GOAL_POSITION) & (state[1] >= GOAL_VELOCITY)

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        return render_reference("MountainCarContinuous-v0", state[:2, 0].astype(np.float32), attrs={})
