"""A numpy family with a categorical parameter, for the task-model and spec tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mtml_rl.errors import RejectedTask
from mtml_rl.families import Family, StepOutput
from mtml_rl.tasks import FamilyParams, Task, categorical, param
from mtml_rl.tasks.protocol import ProtocolQuery

MODES = ("left", "right", "up", "down", "stay")
DIRECTIONS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 0.0]])


@dataclass(frozen=True)
class SwitchParams(FamilyParams):
    """A wind that pushes a point in one of five named directions with some strength."""

    family: ClassVar[str] = "toy_switch"
    mode: str = categorical("stay", values=MODES, doc="where the wind blows")
    strength: float = param(0.5, low=0.0, high=2.0, unit="m/s", doc="wind speed")


class ToySwitch(Family):
    """A point on the plane moved by the action and the wind; reward: minus the distance to 0.

    ``strength`` above 1.5 together with ``mode: stay`` is rejected (a combination that is
    not a task), so that the splits' redrawing is exercised. Protocol ``fixed``: train and
    test tasks listed by the family.
    """

    name = "toy_switch"
    params_cls = SwitchParams
    n_reset_uniforms = 2
    protocols = ("fixed",)

    @classmethod
    def task(cls, values: Any) -> Task:
        task = super().task(values)
        if task["mode"] == "stay" and float(task["strength"]) > 1.5:
            raise RejectedTask("a strong wind cannot stay")
        return task

    @classmethod
    def protocol_tasks(cls, query: ProtocolQuery) -> list[dict[str, Any]] | None:
        if query.split == "train":
            modes = query.train_values.get("mode", ("left",))
            return [{"mode": m, "strength": 0.1 * (k + 1)} for k in range(query.size) for m in modes][
                : query.size
            ]
        if query.split == "test-extrapolation":
            held = query.held_out_values["mode"]
            return [{"mode": held[k % len(held)], "strength": 0.05 * (k + 1)} for k in range(query.size)]
        return None

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)

    def action_space(self) -> spaces.Space[Any]:
        return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        return (uniforms.T - 0.5).copy()

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        wind = DIRECTIONS[params[0].astype(np.int64)].T * params[1]
        push = np.clip(np.asarray(action, dtype=np.float64).reshape(-1, 2).T, -1.0, 1.0)
        nxt = state + 0.1 * (push + wind)
        return StepOutput(nxt, -np.hypot(nxt[0], nxt[1]), np.zeros(nxt.shape[1], dtype=bool))

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        return state.T.astype(np.float32)


SPEC: dict[str, Any] = {
    "name": "ToySwitch",
    "family": "toy_switch",
    "seed": 3,
    "max_episode_steps": 20,
    "parameters": {
        "mode": {"train": ["left", "right", "up"], "extrapolation": ["down", "stay"]},
        "strength": {"train": [0.0, 1.0], "extrapolation": [1.0, 2.0]},
    },
    "splits": {"train": 12, "test-interpolation": 6, "test-extrapolation": 8},
}
"""A spec over both parameters: modes down and stay are held out."""
