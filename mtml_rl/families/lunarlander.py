"""LunarLander (Box2D): gravity, wind and turbulence through the environment's own arguments.

Gymnasium's ``LunarLander`` stores its constructor arguments ``gravity``, ``enable_wind``,
``wind_power`` and ``turbulence_power`` as attributes of the same names and reads them
at every ``reset`` (a new ``b2World`` with that gravity; the wind's random phase) and
every ``step`` (the wind force and torque). A task sets exactly these four before the
next reset, so a configured env behaves as one constructed with those arguments (a test
checks this step for step).

Wind is enabled only when ``wind_power`` or ``turbulence_power`` is positive: an enabled
wind draws its phase from the env's random stream at reset, so the windless default task
consumes the stream as ``LunarLanderContinuous-v3`` does and reproduces it step for step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from mtml_rl.families.box2d_step import StepOut, lunar_lander_step
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.families.sim import SimFamily
from mtml_rl.tasks.params import FamilyParams, param

PAD_HALF_WIDTH = 0.2
"""Half the landing pad's width in observation units (the flags are at x = ±0.2)."""


@dataclass(frozen=True)
class LunarLanderParams(FamilyParams):
    """Parameters of the LunarLander family (defaults: LunarLanderContinuous-v3)."""

    family: ClassVar[str] = "lunarlander"

    gravity: float = param(
        10.0,
        low=0.5,
        high=11.9,
        unit="m/s^2",
        doc="magnitude of the downward gravity (Gymnasium's gravity=-g, which must lie in (-12, 0))",
    )
    wind_power: float = param(
        0.0, low=0.0, high=20.0, doc="largest lateral wind force (Gymnasium recommends [0, 20]); 0 is no wind"
    )
    turbulence_power: float = param(
        0.0, low=0.0, high=2.0, doc="largest rotational turbulence torque (Gymnasium recommends [0, 2])"
    )


class LunarLander(SimFamily[LunarLanderParams]):
    """LunarLanderContinuous-v3 with varying gravity, wind and turbulence.

    Success: the lander came to rest (Gymnasium's +100 case) with both legs on the ground
    between the flags.
    """

    name = "lunarlander"
    params_cls = LunarLanderParams
    reference_id = "LunarLanderContinuous-v3"
    solved_level = ReturnLevel(
        "Gymnasium's LunarLanderContinuous-v3 threshold (200).",
        fixed=200.0,
    )
    extra = "box2d"
    required_modules = ("Box2D",)
    fresh_info = True  # LunarLander returns a new (empty) info dict at every step
    success_only_at_termination = True  # a lander at rest (not awake) terminates the episode

    def apply_task(
        self, env: gym.Env[Any, Any], params: LunarLanderParams, original: Mapping[str, np.ndarray]
    ) -> None:
        lander: Any = env.unwrapped
        lander.gravity = -params.gravity
        lander.enable_wind = params.wind_power > 0.0 or params.turbulence_power > 0.0
        lander.wind_power = params.wind_power
        lander.turbulence_power = params.turbulence_power

    def whole_step(self, env: gym.Env[Any, Any]) -> Callable[[Any], StepOut] | None:
        """Gymnasium's step on Python floats (:mod:`~mtml_rl.families.box2d_step`), the
        same results bit for bit at a fraction of its numpy calls."""
        return lunar_lander_step(env)

    def is_success(
        self, env: gym.Env[Any, Any], params: LunarLanderParams, obs: np.ndarray, info: Mapping[str, Any]
    ) -> bool | None:
        try:  # the environment build() returned (every step): no unwrapped property call
            body = env.lander  # type: ignore[attr-defined]
        except AttributeError:  # a wrapped one
            body = env.unwrapped.lander  # type: ignore[attr-defined]
        if body is None or body.awake:  # in flight (most steps): no need to read the legs
            return False
        x, legs = float(obs[0]), obs[6:8].tolist()
        return legs[0] > 0.5 and legs[1] > 0.5 and abs(x) <= PAD_HALF_WIDTH
