"""CartPole: a pole hinged on a cart, balanced by pushing the cart left or right.

At default parameters this reproduces Gymnasium's ``CartPole-v1`` step for step (Euler
integration, the same equations in the same floating-point order; ``np.square(v)`` is
``v * v`` exactly). Derived quantities (total mass, pole mass times half-length) are
computed from the parameters (:meth:`CartPole.derive`), so a changed mass always changes
the motion. The dynamics are kernels (:mod:`mtml_rl.families.kernel`): one definition for
the batched vector env and the one-slot single env.
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

TAU = 0.02
"""Seconds between state updates."""
FORCE_MAG = 10.0
"""Force in newtons of one push at actuator gain 1."""
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
RESET_LOW, RESET_HIGH = -0.05, 0.05


@dataclass(frozen=True)
class CartPoleParams(FamilyParams):
    """Physical parameters of the CartPole family."""

    family: ClassVar[str] = "cartpole"

    gravity: float = param(9.8, low=0.1, high=100.0, unit="m/s^2", doc="gravitational acceleration")
    cart_mass: float = param(1.0, low=0.01, high=100.0, unit="kg", doc="mass of the cart")
    pole_mass: float = param(0.1, low=0.001, high=100.0, unit="kg", doc="mass of the pole")
    length: float = param(1.0, low=0.05, high=20.0, unit="m", doc="full length of the pole")
    actuator_gain: float = param(
        1.0, low=-20.0, high=20.0, doc="multiplier of the 10 N push; negative reverses the actuator"
    )


class CartPole(KernelFamily):
    """The CartPole family (discrete actions: 0 pushes left, 1 pushes right)."""

    name = "cartpole"
    params_cls = CartPoleParams
    reference_id = "CartPole-v1"
    reference_return = ReturnLevel(
        "+1 per step the pole stays up: a balancing policy earns one point per step of "
        "the episode (500 at CartPole-v1's limit).",
        per_step=1.0,
    )
    solved_level = ReturnLevel(
        "Gymnasium's CartPole-v1 threshold, 475 of the 500 steps: 0.95 per step of the episode.",
        per_step=0.95,
    )
    n_reset_uniforms = 4

    def observation_space(self) -> spaces.Box:
        high = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD * 2, np.inf], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self) -> spaces.Discrete:
        return spaces.Discrete(2)

    def derive(self, xp: ArrayOps, params: Rows) -> tuple[Row, ...]:
        """Half the pole's length, the total mass and the pole's mass times its half-length."""
        _, cart_mass, pole_mass, length, _ = params
        half_length = length / 2.0
        return half_length, pole_mass + cart_mass, pole_mass * half_length

    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        return xp.apply(lambda u: RESET_LOW + (RESET_HIGH - RESET_LOW) * u, uniforms)

    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        gravity, _, pole_mass, _, gain = params
        half_length, total_mass, polemass_length = derived
        x, x_dot, theta, theta_dot = state
        force = xp.where(action == 1, FORCE_MAG, -FORCE_MAG) * gain
        costheta = xp.cos(theta)
        sintheta = xp.sin(theta)
        temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
        thetaacc = (gravity * sintheta - costheta * temp) / (
            half_length * (4.0 / 3.0 - pole_mass * (costheta * costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        # Euler, x + TAU * x_dot ..., on the packed state (one operation each, batched)
        rates = xp.pack((x_dot, xacc, theta_dot, thetaacc))
        next_state = xp.apply(lambda s, rate: s + TAU * rate, state, rates)
        # |x| > X is x < -X or x > X, exactly (abs is exact)
        terminated = (abs(next_state[0]) > X_THRESHOLD) | (abs(next_state[2]) > THETA_THRESHOLD)
        return next_state, xp.full(x, 1.0), terminated

    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        return state

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        half = float(params[3, 0]) / 2.0
        return render_reference(
            "CartPole-v1", state[:, 0], attrs={"length": half, "polemass_length": float(params[2, 0]) * half}
        )
