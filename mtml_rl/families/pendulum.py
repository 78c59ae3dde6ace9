"""Pendulum: swing a rigid rod up from hanging and hold it upright with a limited torque.

At default parameters this reproduces Gymnasium's ``Pendulum-v1`` step for step, with
Gymnasium's torque ``u = 2 * a`` for our action ``a`` in [-1, 1]. Gymnasium's action is
float32, so its torque term ``3 / (m l^2) * u`` and torque cost ``0.001 * u**2`` are
computed in float32; this family does the same so that states, observations and flags
match bit for bit. Squares that Gymnasium takes with ``x ** 2`` on float64 scalars (C
``pow``) use :func:`numpy.float_power`, which calls the same ``pow``, because
:func:`numpy.square` rounds differently in about one case in a thousand. The one
exception is the float32 ``u**2`` of the torque cost: Gymnasium's scalar takes C
``powf``, which numpy cannot call on arrays, so we use the correctly rounded ``u * u``;
the reward then differs from Gymnasium's by one float32 rounding (below 1e-9) in about
one step in a thousand.

Derived quantities (the rod's gravity and inertia coefficients) are recomputed from the
parameters at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families.base import Family, StepOutput
from mtml_rl.tasks.params import FamilyParams, param

DT = 0.05
"""Seconds between state updates."""
MAX_SPEED = 8.0
"""Angular speed limit in rad/s (the velocity is clipped to it)."""
RESET_HIGH = (np.pi, 1.0)
"""Initial angle and angular velocity are uniform in ``[-high, high]``."""


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


def angle_normalize(x: np.ndarray) -> np.ndarray:
    """Wrap angles to ``[-pi, pi)`` exactly as Gymnasium does."""
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class Pendulum(Family):
    """The Pendulum family (one continuous action: the torque as a fraction of the limit).

    State rows: angle (0 = upright, rad), angular velocity (rad/s). Observation:
    ``cos(angle), sin(angle), angular velocity``. Reward: minus
    ``angle^2 + 0.1 velocity^2 + 0.001 torque^2``; never terminates.
    """

    name = "pendulum"
    params_cls = PendulumParams
    reference_id = "Pendulum-v1"
    n_reset_uniforms = 2
    render_fps = 30

    def observation_space(self) -> spaces.Box:
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        high = np.array(RESET_HIGH, dtype=np.float64)
        low = -high
        return (low + (high - low) * uniforms).T.copy()

    def torque(self, action: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The applied torque ``(N,)`` float32: ``gain * max_torque * clip(a, -1, 1)``."""
        _, _, _, max_torque, gain = params
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0).astype(np.float32)
        return (max_torque * gain).astype(np.float32) * a

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        mass, length, gravity, _, _ = params
        th, thdot = state
        u = self.torque(action, params)
        u_cost = np.float32(0.001) * (u * u)  # float32, as Gymnasium's ``0.001 * (u**2)``
        costs = np.float_power(angle_normalize(th), 2) + 0.1 * np.float_power(thdot, 2) + u_cost
        inertia_term = (3.0 / (mass * np.float_power(length, 2))).astype(np.float32) * u
        newthdot = thdot + (3 * gravity / (2 * length) * np.sin(th) + inertia_term) * DT
        newthdot = np.clip(newthdot, -MAX_SPEED, MAX_SPEED)
        newth = th + newthdot * DT
        return StepOutput(np.stack((newth, newthdot)), -costs, np.zeros(th.shape, dtype=bool))

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        th, thdot = state
        return np.stack((np.cos(th), np.sin(th), thdot), axis=1).astype(np.float32)

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        return render_reference("Pendulum-v1", state[:, 0], attrs={"last_u": None})
