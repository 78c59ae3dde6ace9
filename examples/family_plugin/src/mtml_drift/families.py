"""Drift: a point on a line that must stay at the origin against a hidden drift.

Each task pushes the point with a constant drift velocity the observation does not show;
the action is a velocity command in [-1, 1]. A policy that knows the drift cancels it
exactly; one that does not must infer it from how the point moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families import Family, ReturnLevel, StepOutput
from mtml_rl.tasks import FamilyParams, param

DT = 0.1
"""Seconds between state updates."""
LIMIT = 2.0
"""The point stays in [-LIMIT, LIMIT] (m)."""


@dataclass(frozen=True)
class DriftParams(FamilyParams):
    """The hidden drift."""

    family: ClassVar[str] = "drift"
    drift: float = param(0.0, low=-1.0, high=1.0, unit="m/s", doc="velocity added to every command")


class Drift(Family):
    """The Drift family. State: position (m). Observation: position. Reward: minus the
    distance to the origin (m)."""

    name = "drift"
    params_cls = DriftParams
    n_reset_uniforms = 1
    # What reports normalize by where no oracle is evaluated, and what the oracle should reach.
    reference_return = ReturnLevel(
        "cancel the drift and walk the start offset (at most 0.1 m) back with what the largest "
        "train drift leaves of the command (0.2 m/s): about -0.2 in all, then ~0 per step.",
        fixed=-0.2,
    )
    solved_level = ReturnLevel("held within 2 cm of the origin on average: -0.02 per step.", per_step=-0.02)

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-LIMIT, LIMIT, shape=(1,), dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        return (uniforms.T - 0.5) * 0.2

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        command = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        position = np.clip(state + DT * (command + params[0])[None, :], -LIMIT, LIMIT)
        return StepOutput(position, -np.abs(position[0]), np.zeros(position.shape[1], dtype=bool))

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        return state.T.astype(np.float32)
