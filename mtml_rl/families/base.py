"""The family interface: a parameter schema and pure batched dynamics.

A family is stateless. Every function takes the batch of states and the batch of
parameters explicitly and returns new arrays, so one implementation serves the single
environment (a batch of one) and the vector environment alike.

Array layouts (``N`` slots):

- parameters: ``(P, N)`` float64, rows in the order of the family's parameter dataclass;
- state: ``(S, N)`` float64;
- actions: ``(N,)`` int64 for discrete families, ``(N, A)`` float32/64 for continuous ones;
- observations: ``(N, O)`` float32.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from mtml_rl.families.parameterized import ParameterizedFamily
from mtml_rl.tasks.params import as_number
from mtml_rl.tasks.task import Task


class StepOutput(NamedTuple):
    """What a family's batched ``step`` returns."""

    state: np.ndarray
    """``(S, N)`` float64: the next state."""
    reward: np.ndarray
    """``(N,)`` float64: the reward of the transition."""
    terminated: np.ndarray
    """``(N,)`` bool: whether the next state is terminal."""


class Family(ParameterizedFamily, ABC):
    """A parameterized environment family with pure batched numpy dynamics.

    Subclasses set :attr:`name`, :attr:`params_cls` and :attr:`n_reset_uniforms`
    (required; the registry checks them) and implement the spaces and the three batched
    functions (:meth:`initial_state`, :meth:`step`, :meth:`observe`). :attr:`reference_id`,
    :attr:`render_fps`, :meth:`success` and :meth:`render_rgb` have defaults. Actions must
    be ``Discrete(n)`` or a Box bounded by exactly [-1, 1] (checked when an env is built).
    The schema, task helpers, levels and protocols are every family's
    (:class:`~mtml_rl.families.parameterized.ParameterizedFamily`); at
    :meth:`default_task` the family reproduces :attr:`reference_id`.
    """

    reference_id: ClassVar[str | None] = None
    """The Gymnasium id this family reproduces at default parameters, if any."""
    n_reset_uniforms: ClassVar[int]
    """How many U[0, 1) doubles one reset consumes (the reference env's draws)."""
    render_fps: ClassVar[int] = 50

    @classmethod
    def params_array(cls, tasks: list[Task]) -> np.ndarray:
        """Stack tasks' values into a ``(P, N)`` float64 array (a categorical parameter as the
        index of its value)."""
        specs = cls.param_specs()
        rows = [[as_number(s, t[s.name]) for t in tasks] for s in specs]
        return np.array(rows, dtype=np.float64).reshape(len(specs), -1)

    # -- spaces ---------------------------------------------------------------------------
    @abstractmethod
    def observation_space(self) -> spaces.Box:
        """The single-slot observation space (independent of the task)."""

    @abstractmethod
    def action_space(self) -> spaces.Space:
        """The single-slot action space (independent of the task; Box ones are [-1, 1])."""

    # -- batched dynamics -----------------------------------------------------------------
    @abstractmethod
    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Initial states from ``(N, n_reset_uniforms)`` U[0, 1) doubles; returns ``(S, N)``."""

    @abstractmethod
    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        """One transition for every slot. Pure: the inputs are not modified."""

    @abstractmethod
    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Observations ``(N, O)`` float32 of the states."""

    def success(self, state: np.ndarray, params: np.ndarray) -> np.ndarray | None:
        """``(N,)`` bool: whether each state counts as success, or ``None`` if undefined."""
        return None

    def render_rgb(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        """An ``(H, W, 3)`` uint8 frame of slot 0 (override to support ``rgb_array``)."""
        raise NotImplementedError(f"family {self.name!r} does not render")
