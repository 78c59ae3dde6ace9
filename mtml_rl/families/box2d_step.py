"""Gymnasium's continuous ``LunarLander`` step in plain Python floats.

``LunarLander.step`` (Gymnasium 1.x, ``LunarLanderContinuous-v3``) spends most of its
Python time on numpy calls over one or two scalars: ``np.clip`` of the action and of each
engine's throttle, ``np.abs``, ``np.sign`` and two ``np.sqrt`` for the shaping term.
:class:`LunarLanderStep` runs the same operations, in the same order, on Python floats
(``math``'s ``sqrt`` and ``sin`` round as numpy's do): the same calls into Box2D with the
same values, the same two draws from the env's random stream, the same observation,
reward and flags bit for bit (a test steps both side by side, wind and turbulence
included). Where a clip cannot change its value (a throttle already inside its range after
the action's clip) it is left out, and the always-true range assertions are not repeated.

It is offered only for that exact class, with continuous actions and no ``render_mode``
(whose step also creates particles and may render), and only where the installed
Gymnasium's ``LunarLander.step`` is the code it was written against (its source's SHA-256,
and the module constants it uses, are checked once per process): :func:`lunar_lander_step`
returns ``None`` for anything else, and the environment's own ``step`` runs.

Nothing here imports Box2D or Gymnasium's Box2D environments before
:func:`lunar_lander_step` is called, so ``import mtml_rl`` works without the ``box2d`` extra.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from mtml_rl.families.mujoco_split import StepOut
from mtml_rl.sources import has_source

# Gymnasium's lunar_lander constants (module globals there), and the quotients its step
# computes from them, evaluated by the same expressions.
_FPS = 50
_SCALE = 30.0
_MAIN_ENGINE_POWER = 13.0
_SIDE_ENGINE_POWER = 0.6
_LEG_DOWN = 18
_SIDE_ENGINE_HEIGHT = 14
_SIDE_ENGINE_AWAY = 12
_MAIN_ENGINE_Y_LOCATION = 4
_VIEWPORT_W = 600
_VIEWPORT_H = 400
_MAIN_OFFSET = _MAIN_ENGINE_Y_LOCATION / _SCALE
_HALF_W = _VIEWPORT_W / _SCALE / 2
_HALF_H = _VIEWPORT_H / _SCALE / 2
_LEG_OFFSET = _LEG_DOWN / _SCALE
_TIME_STEP = 1.0 / _FPS

REFERENCE_STEP_DIGESTS = frozenset(
    {
        "e1a329583839695cb13f58d65446fcbc2b7c9185dabeb2dccc2de98e47d39920",  # Gymnasium 1.3.0 to 1.4.0
        # 1.0.0 to 1.2.3: the same step, but for the discrete branch's assertion's line breaks
        "97c936769b7c8ec758a6e1f5a7123a28f4985ae7aee415d04519b4d1aed71b99",
    }
)
"""SHA-256 of the sources of ``LunarLander.step`` that :class:`LunarLanderStep` reproduces."""

_sin, _cos, _tanh, _sqrt, _pi = math.sin, math.cos, math.tanh, math.sqrt, math.pi
_F32 = np.float32
_array = np.array


class LunarLanderStep:
    """``LunarLander.step`` (continuous, no rendering) on Python floats; see the module.

    :param sim: the unwrapped ``LunarLander`` environment
    """

    __slots__ = ("sim",)

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def __getstate__(self) -> Any:
        return self.sim

    def __setstate__(self, sim: Any) -> None:
        self.sim = sim

    def step(self, action: Any) -> StepOut:
        """``sim.step(action)``, bit for bit.

        :param action: the simulator's action, two throttles (clipped to [-1, 1] as there)
        """
        env = self.sim
        lander = env.lander
        assert lander is not None, "You forgot to call reset()"
        legs = env.legs
        if env.enable_wind and not (legs[0].ground_contact or legs[1].ground_contact):
            _apply_wind(env, lander)

        main = float(action[0])  # np.clip(action, -1, +1).astype(np.float64), entry by entry
        main = -1.0 if main < -1.0 else (1.0 if main > 1.0 else main)
        lateral = float(action[1])
        lateral = -1.0 if lateral < -1.0 else (1.0 if lateral > 1.0 else lateral)

        angle = lander.angle
        tip0, tip1 = _sin(angle), _cos(angle)
        side0, side1 = -tip1, tip0
        uniform = env.np_random.uniform
        dispersion0 = uniform(-1.0, +1.0) / _SCALE
        dispersion1 = uniform(-1.0, +1.0) / _SCALE

        m_power = 0.0
        if main > 0.0:
            m_power = (main + 1.0) * 0.5  # np.clip(main, 0, 1) is main here
            ox = tip0 * (_MAIN_OFFSET + 2 * dispersion0) + side0 * dispersion1
            oy = -tip1 * (_MAIN_OFFSET + 2 * dispersion0) - side1 * dispersion1
            position = lander.position
            impulse_pos = (position[0] + ox, position[1] + oy)
            lander.ApplyLinearImpulse(
                (-ox * _MAIN_ENGINE_POWER * m_power, -oy * _MAIN_ENGINE_POWER * m_power), impulse_pos, True
            )

        s_power = 0.0
        magnitude = abs(lateral)
        if magnitude > 0.5:
            direction = 1.0 if lateral > 0.0 else -1.0  # np.sign of a nonzero value
            s_power = magnitude  # np.clip(|lateral|, 0.5, 1) is |lateral| here
            ox = tip0 * dispersion0 + side0 * (3 * dispersion1 + direction * _SIDE_ENGINE_AWAY / _SCALE)
            oy = -tip1 * dispersion0 - side1 * (3 * dispersion1 + direction * _SIDE_ENGINE_AWAY / _SCALE)
            position = lander.position
            impulse_pos = (
                position[0] + ox - tip0 * 17 / _SCALE,
                position[1] + oy + tip1 * _SIDE_ENGINE_HEIGHT / _SCALE,
            )
            lander.ApplyLinearImpulse(
                (-ox * _SIDE_ENGINE_POWER * s_power, -oy * _SIDE_ENGINE_POWER * s_power), impulse_pos, True
            )

        env.world.Step(_TIME_STEP, 6 * 30, 2 * 30)
        return _outcome(env, lander, legs, m_power, s_power)


def _apply_wind(env: Any, lander: Any) -> None:
    """The wind's force and the turbulence's torque, as ``LunarLander.step`` applies them."""
    wind_idx = env.wind_idx
    wind_mag = _tanh(_sin(0.02 * wind_idx) + (_sin(_pi * 0.01 * wind_idx))) * env.wind_power
    env.wind_idx += 1
    lander.ApplyForceToCenter((wind_mag, 0.0), True)
    torque_idx = env.torque_idx
    torque_mag = _tanh(_sin(0.02 * torque_idx) + (_sin(_pi * 0.01 * torque_idx))) * env.turbulence_power
    env.torque_idx += 1
    lander.ApplyTorque(torque_mag, True)


def _outcome(env: Any, lander: Any, legs: Any, m_power: float, s_power: float) -> StepOut:
    """The observation, shaped reward and termination after the world's step."""
    pos = lander.position
    vel = lander.linearVelocity
    s0 = (pos.x - _HALF_W) / _HALF_W
    s1 = (pos.y - (env.helipad_y + _LEG_OFFSET)) / _HALF_H
    s2 = vel.x * _HALF_W / _FPS
    s3 = vel.y * _HALF_H / _FPS
    s4 = lander.angle
    s5 = 20.0 * lander.angularVelocity / _FPS
    s6 = 1.0 if legs[0].ground_contact else 0.0
    s7 = 1.0 if legs[1].ground_contact else 0.0

    shaping = (
        -100 * _sqrt(s0 * s0 + s1 * s1) - 100 * _sqrt(s2 * s2 + s3 * s3) - 100 * abs(s4) + 10 * s6 + 10 * s7
    )
    previous = env.prev_shaping
    reward: float = 0 if previous is None else shaping - previous
    env.prev_shaping = shaping
    reward -= m_power * 0.30
    reward -= s_power * 0.03

    terminated = False
    if env.game_over or abs(s0) >= 1.0:
        terminated = True
        reward = -100
    if not lander.awake:
        terminated = True
        reward = +100
    return _array([s0, s1, s2, s3, s4, s5, s6, s7], dtype=_F32), reward, terminated, False, {}


@functools.cache
def reference_step_matches() -> bool:
    """Whether the installed Gymnasium's ``LunarLander.step`` is the one this module
    reproduces: the same source (:data:`REFERENCE_STEP_DIGESTS`) and module constants."""
    from gymnasium.envs.box2d import lunar_lander

    constants = (
        lunar_lander.FPS,
        lunar_lander.SCALE,
        lunar_lander.MAIN_ENGINE_POWER,
        lunar_lander.SIDE_ENGINE_POWER,
        lunar_lander.LEG_DOWN,
        lunar_lander.SIDE_ENGINE_HEIGHT,
        lunar_lander.SIDE_ENGINE_AWAY,
        lunar_lander.MAIN_ENGINE_Y_LOCATION,
        lunar_lander.VIEWPORT_W,
        lunar_lander.VIEWPORT_H,
    )
    ours = (
        _FPS,
        _SCALE,
        _MAIN_ENGINE_POWER,
        _SIDE_ENGINE_POWER,
        _LEG_DOWN,
        _SIDE_ENGINE_HEIGHT,
        _SIDE_ENGINE_AWAY,
        _MAIN_ENGINE_Y_LOCATION,
        _VIEWPORT_W,
        _VIEWPORT_H,
    )
    return constants == ours and has_source(lunar_lander.LunarLander.step, REFERENCE_STEP_DIGESTS)


def lunar_lander_step(sim: Any) -> Callable[[Any], StepOut] | None:
    """``sim``'s step on Python floats (:class:`LunarLanderStep`), or ``None`` where it is not
    Gymnasium's ``LunarLander`` itself (a subclass may step differently) with continuous
    actions and no ``render_mode``, or where the installed Gymnasium's step is not the one
    reproduced here (:func:`reference_step_matches`).

    :param sim: an unwrapped Gymnasium environment
    """
    from gymnasium.envs.box2d.lunar_lander import LunarLander

    if type(sim) is not LunarLander or not sim.continuous or sim.render_mode is not None:
        return None
    return LunarLanderStep(sim).step if reference_step_matches() else None
