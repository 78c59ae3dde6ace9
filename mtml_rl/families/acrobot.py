"""Acrobot: a two-link pendulum, actuated at the elbow, swung up to a height.

Gymnasium's ``Acrobot-v1`` "book" dynamics (Sutton and Barto), integrated with one RK4
step of 0.2 s, angles wrapped to [-pi, pi] and velocities bounded, in the same
floating-point order; at default parameters this reproduces ``Acrobot-v1`` step for step.
Squares that Gymnasium takes with ``x ** 2`` on float64 scalars (C ``pow``) use
``xp.pow`` (:func:`numpy.float_power` or ``**``), which calls the same ``pow``. The
dynamics are kernels (:mod:`mtml_rl.families.kernel`): one definition for the batched
vector env and the one-slot single env.

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

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from mtml_rl.families.kernel import ArrayOps, KernelFamily, Row, Rows, Transition
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, param

DT = 0.2
"""Seconds between state updates (one RK4 step)."""
GRAVITY = 9.8
MAX_VEL_1 = 4 * np.pi
MAX_VEL_2 = 9 * np.pi
TORQUES = (-1.0, 0.0, 1.0)
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


class Body(NamedTuple):
    """Parameter-only terms of Gymnasium's ``_dsdt``, each in Gymnasium's float order.

    Python evaluates ``2 * m2 * l1 * lc2 * x`` as ``((2 * m2) * l1 * lc2) * x``, so
    hoisting such left-hand products out of the four RK4 stages changes no rounding.
    """

    m1_lc1_sq: Row  # m1 * lc1**2
    m2: Row
    l1_sq_lc2_sq: Row  # l1**2 + lc2**2
    two_l1_lc2: Row  # 2 * l1 * lc2
    i1: Row
    i2: Row
    lc2_sq: Row  # lc2**2
    l1_lc2: Row  # l1 * lc2
    m2_lc2_g: Row  # m2 * lc2 * g
    neg_m2_l1_lc2: Row  # -m2 * l1 * lc2
    two_m2_l1_lc2: Row  # 2 * m2 * l1 * lc2
    m1_lc1_m2_l1_g: Row  # (m1 * lc1 + m2 * l1) * g
    m2_l1_lc2: Row  # m2 * l1 * lc2
    m2_lc2_sq_i2: Row  # m2 * lc2**2 + I2


def body(xp: ArrayOps, params: Rows) -> Body:
    """Derived quantities: ``lc = l / 2``, ``I = m l^2`` (see the module docstring)."""
    l1, l2, m1, m2, _ = params
    lc1, lc2 = l1 / 2, l2 / 2
    i1 = MOI_PER_MASS_LENGTH2 * m1 * xp.pow(l1, 2)
    i2 = MOI_PER_MASS_LENGTH2 * m2 * xp.pow(l2, 2)
    g = GRAVITY
    return Body(
        m1_lc1_sq=m1 * xp.pow(lc1, 2),
        m2=m2,
        l1_sq_lc2_sq=xp.pow(l1, 2) + xp.pow(lc2, 2),
        two_l1_lc2=2 * l1 * lc2,
        i1=i1,
        i2=i2,
        lc2_sq=xp.pow(lc2, 2),
        l1_lc2=l1 * lc2,
        m2_lc2_g=m2 * lc2 * g,
        neg_m2_l1_lc2=-m2 * l1 * lc2,
        two_m2_l1_lc2=2 * m2 * l1 * lc2,
        m1_lc1_m2_l1_g=(m1 * lc1 + m2 * l1) * g,
        m2_l1_lc2=m2 * l1 * lc2,
        m2_lc2_sq_i2=m2 * xp.pow(lc2, 2) + i2,
    )


def derivatives(xp: ArrayOps, s: Rows, torque: Row, b: Body) -> Any:
    """The packed time derivatives of ``(theta1, theta2, dtheta1, dtheta2)``.

    Gymnasium's ``_dsdt`` ("book" dynamics) in its float order, parameter terms hoisted.
    """
    theta1, theta2, dtheta1, dtheta2 = s
    cos2, sin2 = xp.cos(theta2), xp.sin(theta2)
    d1 = b.m1_lc1_sq + b.m2 * (b.l1_sq_lc2_sq + b.two_l1_lc2 * cos2) + b.i1 + b.i2
    d2 = b.m2 * (b.lc2_sq + b.l1_lc2 * cos2) + b.i2
    phi2 = b.m2_lc2_g * xp.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        b.neg_m2_l1_lc2 * xp.pow(dtheta2, 2) * sin2
        - b.two_m2_l1_lc2 * dtheta2 * dtheta1 * sin2
        + b.m1_lc1_m2_l1_g * xp.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (torque + d2 / d1 * phi1 - b.m2_l1_lc2 * xp.pow(dtheta1, 2) * sin2 - phi2) / (
        b.m2_lc2_sq_i2 - xp.pow(d2, 2) / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return xp.pack((dtheta1, dtheta2, ddtheta1, ddtheta2))


def rk4(xp: ArrayOps, y0: Any, torque: Row, b: Body) -> Any:
    """One RK4 step of ``DT`` seconds of the packed state, in the order of Gymnasium's ``rk4``."""
    dt = DT - 0
    dt2 = dt / 2.0
    k1 = derivatives(xp, y0, torque, b)
    k2 = derivatives(xp, xp.apply(lambda y, k: y + dt2 * k, y0, k1), torque, b)
    k3 = derivatives(xp, xp.apply(lambda y, k: y + dt2 * k, y0, k2), torque, b)
    k4 = derivatives(xp, xp.apply(lambda y, k: y + dt * k, y0, k3), torque, b)
    return xp.apply(lambda y, a, b_, c, d: y + dt / 6.0 * (a + 2 * b_ + 2 * c + d), y0, k1, k2, k3, k4)


def wrap(xp: ArrayOps, x: Row, low: float, high: float) -> Row:
    """Wrap into ``[low, high]`` by repeated whole turns, exactly as Gymnasium's ``wrap``."""
    diff = high - low
    while xp.any(x > high):
        x = xp.where(x > high, x - diff, x)
    while xp.any(x < low):
        x = xp.where(x < low, x + diff, x)
    return x


def above_line(xp: ArrayOps, state: Rows, params: Rows) -> Row:
    """Whether the tip is above the termination height ``(l1 + l2) / 2``."""
    l1, l2 = params[0], params[1]
    height = -(l1 * xp.cos(state[0])) - l2 * xp.cos(state[1] + state[0])
    return height > (l1 + l2) / 2


class Acrobot(KernelFamily):
    """The Acrobot family (discrete actions: elbow torque -1, 0 or +1 times the gain).

    State rows: theta1, theta2 (rad), dtheta1, dtheta2 (rad/s). Observation: cos and
    sin of both angles and both velocities. Reward -1 per step until the tip is above
    the termination height, which terminates the episode with reward 0.
    """

    name = "acrobot"
    params_cls = AcrobotParams
    reference_id = "Acrobot-v1"
    reference_return = ReturnLevel(
        "-1 per step until the tip swings up: trained agents swing Acrobot-v1 up in "
        "about 80 steps (its solved threshold is -100).",
        fixed=-80.0,
    )
    solved_level = ReturnLevel(
        "Gymnasium's Acrobot-v1 threshold (-100).",
        fixed=-100.0,
    )
    n_reset_uniforms = 4
    success_is_termination = True
    render_fps = 15

    def observation_space(self) -> spaces.Box:
        high = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], dtype=np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self) -> spaces.Discrete:
        return spaces.Discrete(3)

    def derive(self, xp: ArrayOps, params: Rows) -> tuple[Row, ...]:
        """The parameter terms of the dynamics (:class:`Body`)."""
        return body(xp, params)

    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        return tuple(xp.f32(RESET_LOW + (RESET_HIGH - RESET_LOW) * u) for u in uniforms)

    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        torque = xp.take(TORQUES, action) * params[4]
        theta1, theta2, dtheta1, dtheta2 = rk4(xp, state, torque, derived)
        ns = (
            wrap(xp, theta1, -math.pi, math.pi),
            wrap(xp, theta2, -math.pi, math.pi),
            xp.clip(dtheta1, -MAX_VEL_1, MAX_VEL_1),
            xp.clip(dtheta2, -MAX_VEL_2, MAX_VEL_2),
        )
        terminated = above_line(xp, ns, params)
        return ns, xp.where(terminated, 0.0, -1.0), terminated

    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        s0, s1, s2, s3 = state
        return xp.cos(s0), xp.sin(s0), xp.cos(s1), xp.sin(s1), s2, s3

    def succeeded(self, xp: ArrayOps, state: Rows, params: Rows) -> Row:
        """Whether the tip is above the termination height."""
        return above_line(xp, state, params)

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        attrs = {"LINK_LENGTH_1": float(params[0, 0]), "LINK_LENGTH_2": float(params[1, 0])}
        return render_reference("Acrobot-v1", state[:, 0], attrs=attrs)
