"""Pendulum: swing a rigid rod up from hanging and hold it upright with a limited torque.

At default parameters this reproduces Gymnasium's ``Pendulum-v1`` step for step, with
Gymnasium's torque ``u = 2 * a`` for our action ``a`` in [-1, 1]. Gymnasium's action is
float32, so its torque term ``3 / (m l^2) * u`` and torque cost ``0.001 * u**2`` are
computed in float32; this family does the same (``xp.f32``, see
:mod:`mtml_rl.families.kernel`) so that states, observations and flags match bit for bit.
Squares that Gymnasium takes with ``x ** 2`` on float64 scalars (C ``pow``) use ``xp.pow``
(:func:`numpy.float_power` or ``**``), which calls the same ``pow``, because
:func:`numpy.square` rounds differently in about one case in a thousand. The one
exception is the float32 ``u**2`` of the torque cost: Gymnasium's scalar takes C
``powf``, which numpy cannot call on arrays, so we use the correctly rounded ``u * u``;
the reward then differs from Gymnasium's by one float32 rounding (below 1e-9) in about
one step in a thousand.

Derived quantities (the rod's gravity and inertia coefficients) are computed from the
parameters (:meth:`Pendulum.derive`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families.kernel import ArrayOps, KernelFamily, Row, Rows, Transition
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, param

DT = 0.05
"""Seconds between state updates."""
MAX_SPEED = 8.0
"""Angular speed limit in rad/s (the velocity is clipped to it)."""
RESET_HIGH = (math.pi, 1.0)
"""Initial angle and angular velocity are uniform in ``[-high, high]``."""
TORQUE_COST = float(np.float32(0.001))
"""Weight of the squared torque in the cost, as the float32 Gymnasium multiplies by."""


@dataclass(frozen=True)
class PendulumParams(FamilyParams):
    """Physical parameters of the Pendulum family."""

    family: ClassVar[str] = "pendulum"

    mass: float = param(1.0, low=0.01, high=100.0, unit="kg", doc="mass of the rod")
    length: float = param(1.0, low=0.05, high=20.0, unit="m", doc="length of the rod")
    gravity: float = param(10.0, low=0.1, high=100.0, unit="m/s^2", doc="gravitational acceleration")
    max_torque: float = param(2.0, low=0.01, high=100.0, unit="N m", doc="torque of a full action (|a| = 1)")
    actuator_gain: float = param(
        1.0, low=-20.0, high=20.0, doc="multiplier of the commanded torque; negative reverses the motor"
    )


def angle_normalize(x: Row) -> Row:
    """Wrap angles to ``[-pi, pi)`` exactly as Gymnasium does (rows or arrays)."""
    return ((x + math.pi) % (2 * math.pi)) - math.pi


class Pendulum(KernelFamily):
    """The Pendulum family (one continuous action: the torque as a fraction of the limit).

    State rows: angle (0 = upright, rad), angular velocity (rad/s). Observation:
    ``cos(angle), sin(angle), angular velocity``. Reward: minus
    ``angle^2 + 0.1 velocity^2 + 0.001 torque^2``; never terminates.
    """

    name = "pendulum"
    params_cls = PendulumParams
    reference_id = "Pendulum-v1"
    reference_return = ReturnLevel(
        "a solved swing-up of Pendulum-v1 returns about -150 over 200 steps (the cost "
        "of the swing-up itself, then ~0 per step upright): -0.75 per step.",
        per_step=-0.75,
    )
    solved_level = ReturnLevel(
        "Pendulum-v1 has no threshold; trained agents score about -150 to -200 over its "
        "200 steps, so -1 per step: the rod swung up and held.",
        per_step=-1.0,
    )
    n_reset_uniforms = 2
    render_fps = 30

    def observation_space(self) -> spaces.Box:
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def derive(self, xp: ArrayOps, params: Rows) -> tuple[Row, ...]:
        """The full-action torque and the inertia coefficient ``3 / (m l^2)`` (both float32,
        as Gymnasium's float32 action makes them), and the gravity coefficient ``3 g / (2 l)``."""
        mass, length, gravity, max_torque, gain = params
        torque = xp.f32(max_torque * gain)
        inertia = xp.f32(3.0 / (mass * xp.pow(length, 2)))
        return torque, inertia, 3 * gravity / (2 * length)

    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        return tuple(-high + (high - -high) * u for high, u in zip(RESET_HIGH, uniforms, strict=True))

    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        th, thdot = state
        full_torque, inertia, gravity_term = derived
        u = xp.f32(full_torque * xp.f32(xp.clip(action[0], -1.0, 1.0)))  # float32 torque
        u_cost = xp.f32(TORQUE_COST * xp.f32(u * u))  # float32, as Gymnasium's ``0.001 * (u**2)``
        costs = xp.pow(angle_normalize(th), 2) + 0.1 * xp.pow(thdot, 2) + u_cost
        newthdot = thdot + (gravity_term * xp.sin(th) + xp.f32(inertia * u)) * DT
        newthdot = xp.clip(newthdot, -MAX_SPEED, MAX_SPEED)
        newth = th + newthdot * DT
        return (newth, newthdot), -costs, xp.full(th, False)

    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        th, thdot = state
        return xp.cos(th), xp.sin(th), thdot

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        return render_reference("Pendulum-v1", state[:, 0], attrs={"last_u": None})
