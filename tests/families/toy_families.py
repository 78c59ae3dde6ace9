"""Families of a "user" for the registry tests: complete ones and ones that miss something."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.families import Family, SimFamily, StepOutput
from mtml_rl.tasks import FamilyParams, param


@dataclass(frozen=True)
class DriftParams(FamilyParams):
    """The drift of a point on a line."""

    family: ClassVar[str] = "toy_drift"
    drift: float = param(0.0, low=-1.0, high=1.0, unit="m/s", doc="velocity added at every step")


class ToyDrift(Family):
    """A point on a line pushed by the action and a drift; reward: minus the distance to 0."""

    name = "toy_drift"
    params_cls = DriftParams
    n_reset_uniforms = 1

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)

    def action_space(self) -> spaces.Space[Any]:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        return (uniforms.T - 0.5).copy()

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        push = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        nxt = state + 0.1 * (push + params[0])[None, :]
        return StepOutput(nxt, -np.abs(nxt[0]), np.zeros(nxt.shape[1], dtype=bool))

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        return state.T.astype(np.float32)


class WideActions(ToyDrift):
    """Breaks the action rule: a Box in [-2, 2]."""

    name = "wide_actions"

    def action_space(self) -> spaces.Space[Any]:
        return spaces.Box(-2.0, 2.0, shape=(1,), dtype=np.float32)


class ShiftedDiscrete(ToyDrift):
    """Breaks the action rule: Discrete actions that start at 1."""

    name = "shifted_discrete"

    def action_space(self) -> spaces.Space[Any]:
        return spaces.Discrete(3, start=1)


class NoStep(Family):
    """Forgets ``step`` and ``observe``."""

    name = "no_step"
    params_cls = DriftParams
    n_reset_uniforms = 1

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def action_space(self) -> spaces.Space[Any]:
        return spaces.Discrete(2)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        return uniforms.T.copy()


class NoUniforms(Family):
    """Forgets ``n_reset_uniforms``."""

    name = "no_uniforms"
    params_cls = DriftParams
    observation_space = ToyDrift.observation_space
    action_space = ToyDrift.action_space
    initial_state = ToyDrift.initial_state
    step = ToyDrift.step
    observe = ToyDrift.observe


class LevelAsNumber(ToyDrift):
    """Documents its solved level as a bare number instead of a ReturnLevel."""

    name = "level_as_number"
    solved_level = -1.0  # type: ignore[assignment]


class NotAFamily:
    """A class that is not a family."""

    name = "not_a_family"


@dataclass(frozen=True)
class PendulumGravity(FamilyParams):
    """Gravity of Pendulum-v1."""

    family: ClassVar[str] = "toy_pendulum"
    g: float = param(10.0, low=1.0, high=30.0, unit="m/s^2", doc="gravitational acceleration")


class ToyPendulum(SimFamily[PendulumGravity]):
    """Pendulum-v1 (actions in [-2, 2]) with its gravity as the parameter; only the required
    attributes are set, every hook keeps its default."""

    name = "toy_pendulum"
    params_cls = PendulumGravity
    reference_id = "Pendulum-v1"

    def apply_task(self, env: Any, params: PendulumGravity, original: Any) -> None:
        env.unwrapped.g = params.g
