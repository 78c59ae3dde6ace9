"""Acrobot: a two-link pendulum, actuated at the elbow, swung up to a height.

Gymnasium's ``Acrobot-v1`` "book" dynamics (Sutton and Barto), integrated with one RK4
step of 0.2 s, angles wrapped to [-pi, pi] and velocities bounded, in the same
floating-point order; at default parameters this reproduces ``Acrobot-v1`` step for step.
Squares that Gymnasium takes with ``x ** 2`` on float64 scalars (C ``pow``) use
:func:`numpy.float_power`, which calls the same ``pow``.

Derived quantities, recomputed from the parameters at every step:

- centre of mass of link ``i`` at ``lc_i = l_i / 2`` (a uniform link; Gymnasium's 0.5 m);
- moment of inertia of link ``i`` about its centre ``I_i = k m_i l_i^2`` with ``k = 1``:
  the inertia of a rigid link of fixed shape scales as mass times length squared, and
  ``k`` is chosen so that the default 1 kg, 1 m link has Gymnasium's ``I = 1 kg m^2``
  (Gymnasium's value, not a thin rod's ``1/12``, so that the defaults reproduce it);
- the termination height: the tip must rise above ``(l_1 + l_2) / 2`` over the pivot
  (half the full reach; Gymnasium's 1 m at default lengths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from mtml_rl.families.base import Family, StepOutput
from mtml_rl.tasks.params import FamilyParams, param

DT = 0.2
"""Seconds between state updates (one RK4 step)."""
GRAVITY = 9.8
MAX_VEL_1 = 4 * np.pi
MAX_VEL_2 = 9 * np.pi
TORQUES = np.array([-1.0, 0.0, 1.0])
"""Elbow torque (N m) of actions 0, 1 and 2 at actuator gain 1."""
RESET_LOW, RESET_HIGH = -0.1, 0.1
MOI_PER_MASS_LENGTH2 = 1.0
"""Moment of inertia of a link per kg and per m^2 of length squared (Gymnasium's I = 1)."""


@dataclass(frozen=True)
class AcrobotParams(FamilyParams):
    """Physical parameters of the Acrobot family."""

    family: ClassVar[str] = "acrobot"

    link_length_1: float = param(1.0, low=0.1, high=10.0, unit="m", doc="length of the upper link")
    link_length_2: float = param(1.0, low=0.1, high=10.0, unit="m", doc="length of the lower link")
    link_mass_1: float = param(1.0, low=0.01, high=100.0, unit="kg", doc="mass of the upper link")
    link_mass_2: float = param(1.0, low=0.01, high=100.0, unit="kg", doc="mass of the lower link")
    actuator_gain: float = param(
        1.0, low=-20.0, high=20.0, doc="multiplier of the 1 N m elbow torque; negative reverses the motor"
    )


class _Body(NamedTuple):
    """Parameter-only terms of Gymnasium's ``_dsdt``, each in Gymnasium's float order.

    Python evaluates ``2 * m2 * l1 * lc2 * x`` as ``((2 * m2) * l1 * lc2) * x``, so
    hoisting such left-hand products out of the four RK4 stages changes no rounding.
    """

    m1_lc1_sq: np.ndarray  # m1 * lc1**2
    m2: np.ndarray
    l1_sq_lc2_sq: np.ndarray  # l1**2 + lc2**2
    two_l1_lc2: np.ndarray  # 2 * l1 * lc2
    i1: np.ndarray
    i2: np.ndarray
    lc2_sq: np.ndarray  # lc2**2
    l1_lc2: np.ndarray  # l1 * lc2
    m2_lc2_g: np.ndarray  # m2 * lc2 * g
    neg_m2_l1_lc2: np.ndarray  # -m2 * l1 * lc2
    two_m2_l1_lc2: np.ndarray  # 2 * m2 * l1 * lc2
    m1_lc1_m2_l1_g: np.ndarray  # (m1 * lc1 + m2 * l1) * g
    m2_l1_lc2: np.ndarray  # m2 * l1 * lc2
    m2_lc2_sq_i2: np.ndarray  # m2 * lc2**2 + I2


def _body(params: np.ndarray) -> _Body:
    """Derived quantities: ``lc = l / 2``, ``I = m l^2`` (see the module docstring)."""
    l1, l2, m1, m2, _ = params
    lc1, lc2 = l1 / 2, l2 / 2
    i1 = MOI_PER_MASS_LENGTH2 * m1 * _pow2(l1)
    i2 = MOI_PER_MASS_LENGTH2 * m2 * _pow2(l2)
    g = GRAVITY
    return _Body(
        m1_lc1_sq=m1 * _pow2(lc1),
        m2=m2,
        l1_sq_lc2_sq=_pow2(l1) + _pow2(lc2),
        two_l1_lc2=2 * l1 * lc2,
        i1=i1,
        i2=i2,
        lc2_sq=_pow2(lc2),
        l1_lc2=l1 * lc2,
        m2_lc2_g=m2 * lc2 * g,
        neg_m2_l1_lc2=-m2 * l1 * lc2,
        two_m2_l1_lc2=2 * m2 * l1 * lc2,
        m1_lc1_m2_l1_g=(m1 * lc1 + m2 * l1) * g,
        m2_l1_lc2=m2 * l1 * lc2,
        m2_lc2_sq_i2=m2 * _pow2(lc2) + i2,
    )


def _pow2(x: np.ndarray) -> np.ndarray:
    return np.float_power(x, 2)


def _derivatives(s: np.ndarray, torque: np.ndarray, b: _Body) -> np.ndarray:
    """``(4, N)`` time derivatives of ``(theta1, theta2, dtheta1, dtheta2)``.

    Gymnasium's ``_dsdt`` ("book" dynamics) in its float order, parameter terms hoisted.
    """
    theta1, theta2, dtheta1, dtheta2 = s
    cos2, sin2 = np.cos(theta2), np.sin(theta2)
    d1 = b.m1_lc1_sq + b.m2 * (b.l1_sq_lc2_sq + b.two_l1_lc2 * cos2) + b.i1 + b.i2
    d2 = b.m2 * (b.lc2_sq + b.l1_lc2 * cos2) + b.i2
    phi2 = b.m2_lc2_g * np.cos(theta1 + theta2 - np.pi / 2.0)
    phi1 = (
        b.neg_m2_l1_lc2 * _pow2(dtheta2) * sin2
        - b.two_m2_l1_lc2 * dtheta2 * dtheta1 * sin2
        + b.m1_lc1_m2_l1_g * np.cos(theta1 - np.pi / 2)
        + phi2
    )
    ddtheta2 = (torque + d2 / d1 * phi1 - b.m2_l1_lc2 * _pow2(dtheta1) * sin2 - phi2) / (
        b.m2_lc2_sq_i2 - _pow2(d2) / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return np.stack((dtheta1, dtheta2, ddtheta1, ddtheta2))


def _rk4(y0: np.ndarray, torque: np.ndarray, b: _Body) -> np.ndarray:
    """One RK4 step of ``DT`` seconds, in the order of Gymnasium's ``rk4``."""
    dt = DT - 0
    dt2 = dt / 2.0
    k1 = _derivatives(y0, torque, b)
    k2 = _derivatives(y0 + dt2 * k1, torque, b)
    k3 = _derivatives(y0 + dt2 * k2, torque, b)
    k4 = _derivatives(y0 + dt * k3, torque, b)
    return y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def wrap(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Wrap into ``[low, high]`` by repeated whole turns, exactly as Gymnasium's ``wrap``."""
    diff = high - low
    while np.any(x > high):
        x = np.where(x > high, x - diff, x)
    while np.any(x < low):
        x = np.where(x < low, x + diff, x)
    return x


class Acrobot(Family):
    """The Acrobot family (discrete actions: elbow torque -1, 0 or +1 times the gain).

    State rows: theta1, theta2 (rad), dtheta1, dtheta2 (rad/s). Observation: cos and
    sin of both angles and both velocities. Reward -1 per step until the tip is above
    the termination height, which terminates the episode with reward 0.
    """

    name = "acrobot"
    params_cls = AcrobotParams
    reference_id = "Acrobot-v1"
    n_reset_uniforms = 4
    render_fps = 15

    def observation_space(self) -> spaces.Box:
        high = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self) -> spaces.Discrete:
        return spaces.Discrete(3)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        state = (RESET_LOW + (RESET_HIGH - RESET_LOW) * uniforms).astype(np.float32)
        return state.T.astype(np.float64)

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        gain = params[4]
        torque = TORQUES[np.asarray(action, dtype=np.int64)] * gain
        ns = _rk4(state, torque, _body(params))
        ns[0] = wrap(ns[0], -np.pi, np.pi)
        ns[1] = wrap(ns[1], -np.pi, np.pi)
        ns[2] = np.minimum(np.maximum(ns[2], -MAX_VEL_1), MAX_VEL_1)
        ns[3] = np.minimum(np.maximum(ns[3], -MAX_VEL_2), MAX_VEL_2)
        terminated = self._above_line(ns, params)
        reward = np.where(terminated, 0.0, -1.0)
        return StepOutput(ns, reward, terminated)

    @staticmethod
    def _above_line(state: np.ndarray, params: np.ndarray) -> np.ndarray:
        l1, l2 = params[0], params[1]
        height = -(l1 * np.cos(state[0])) - l2 * np.cos(state[1] + state[0])
        return np.asarray(height > (l1 + l2) / 2)

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        s0, s1, s2, s3 = state
        return np.stack((np.cos(s0), np.sin(s0), np.cos(s1), np.sin(s1), s2, s3), axis=1).astype(np.float32)

    def success(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Whether the tip is above the termination height."""
        return self._above_line(state, params)

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        attrs = {"LINK_LENGTH_1": float(params[0, 0]), "LINK_LENGTH_2": float(params[1, 0])}
        return render_reference("Acrobot-v1", state[:, 0], attrs=attrs)
