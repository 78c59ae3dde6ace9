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
``engine_power * actuator_gain`` is recomputed from the parameters at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families.base import Family, StepOutput
from mtml_rl.tasks.params import FamilyParams, param

MIN_POSITION, MAX_POSITION = -1.2, 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.45
GOAL_VELOCITY = 0.0
RESET_LOW, RESET_HIGH = -0.6, -0.4
ACTION_COST = 0.1
GOAL_REWARD = 100.0

_F32 = np.float32


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


class MountainCarContinuous(Family):
    """The MountainCarContinuous family (one continuous action: the engine force).

    State rows: position, velocity, ``fresh`` (see the module docstring). Observation:
    position and velocity. Reward: ``-0.1 a^2`` per step plus 100 on reaching the goal,
    which terminates the episode.
    """

    name = "mountaincar_continuous"
    params_cls = MountainCarParams
    reference_id = "MountainCarContinuous-v0"
    n_reset_uniforms = 1
    render_fps = 30

    def observation_space(self) -> spaces.Box:
        low = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32)
        high = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32)
        return spaces.Box(low, high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        position = RESET_LOW + (RESET_HIGH - RESET_LOW) * uniforms[:, 0]
        return np.stack((position, np.zeros_like(position), np.ones_like(position)))

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        engine_power, gravity, gain = params
        position, velocity, fresh = state
        force = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0).astype(_F32)
        three_x = 3 * position
        three_x = np.where(fresh > 0, three_x, three_x.astype(_F32))
        slope = (gravity * np.cos(three_x)).astype(_F32)
        increment = force * (engine_power * gain).astype(_F32) - slope
        v = np.clip(velocity.astype(_F32) + increment, _F32(-MAX_SPEED), _F32(MAX_SPEED))
        x = (position + v).astype(_F32)
        x = np.clip(x, _F32(MIN_POSITION), _F32(MAX_POSITION))
        v = np.where((x == _F32(MIN_POSITION)) & (v < 0), _F32(0.0), v)
        terminated = (x >= _F32(GOAL_POSITION)) & (v >= _F32(GOAL_VELOCITY))
        force64 = force.astype(np.float64)
        reward = np.where(terminated, GOAL_REWARD, 0.0) - force64 * force64 * ACTION_COST
        new_state = np.stack((x.astype(np.float64), v.astype(np.float64), np.zeros_like(position)))
        return StepOutput(new_state, reward, terminated)

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        return state[:2].T.astype(np.float32)

    def success(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Whether the car stands at the goal (the terminal condition)."""
        x = state[0].astype(_F32)
        return np.asarray((x >= _F32(GOAL_POSITION)) & (state[1] >= GOAL_VELOCITY))

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        from mtml_rl.families.rendering import render_reference

        return render_reference("MountainCarContinuous-v0", state[:2, 0].astype(np.float32), attrs={})
