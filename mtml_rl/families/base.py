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
from collections.abc import Mapping
from typing import ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, ParamSpec, ParamValue, as_number, schema
from mtml_rl.tasks.protocol import ProtocolQuery
from mtml_rl.tasks.task import Task


class StepOutput(NamedTuple):
    """What a family's batched ``step`` returns."""

    state: np.ndarray
    """``(S, N)`` float64: the next state."""
    reward: np.ndarray
    """``(N,)`` float64: the reward of the transition."""
    terminated: np.ndarray
    """``(N,)`` bool: whether the next state is terminal."""


class Family(ABC):
    """A parameterized environment family with pure batched numpy dynamics.

    Subclasses set :attr:`name`, :attr:`params_cls` and :attr:`n_reset_uniforms`
    (required; the registry checks them) and implement the spaces and the three batched
    functions (:meth:`initial_state`, :meth:`step`, :meth:`observe`). :attr:`reference_id`,
    :attr:`render_fps`, :meth:`success` and :meth:`render_rgb` have defaults. Actions must
    be ``Discrete(n)`` or a Box bounded by exactly [-1, 1] (checked when an env is built).
    """

    name: ClassVar[str]
    """Registered name, used in specs and task ids (e.g. ``"cartpole"``)."""
    params_cls: ClassVar[type[FamilyParams]]
    """The frozen parameter dataclass (schema, defaults, physical bounds)."""
    reference_id: ClassVar[str | None] = None
    """The Gymnasium id this family reproduces at default parameters, if any."""
    n_reset_uniforms: ClassVar[int]
    """How many U[0, 1) doubles one reset consumes (the reference env's draws)."""
    headline_metric: ClassVar[str] = "normalized"
    """What reports lead with: ``"normalized"`` (normalized return) or ``"success"`` (success
    rate, where the family's benchmark reports it: Meta-World)."""
    reference_return: ClassVar[ReturnLevel | None] = None
    """What a competent agent earns on a task (normalizes scores where no oracle run is
    evaluated alongside); ``None``: not documented, evaluate an oracle to normalize."""
    solved_level: ClassVar[ReturnLevel | None] = None
    """The mean return at which a train task counts as solved (reports flag an oracle below
    it); ``None``: not documented."""
    render_fps: ClassVar[int] = 50

    # -- schema ---------------------------------------------------------------------------
    @classmethod
    def param_specs(cls) -> tuple[ParamSpec, ...]:
        """The parameter schema."""
        return schema(cls.params_cls)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """Parameter names in declaration order (the row order of parameter arrays)."""
        return tuple(s.name for s in cls.param_specs())

    @classmethod
    def default_task(cls) -> Task:
        """The task at default parameters (reproduces :attr:`reference_id`)."""
        return cls.task(cls.params_cls().as_dict())

    @classmethod
    def task(cls, values: Mapping[str, ParamValue]) -> Task:
        """Validate a (partial) mapping of values and return the full :class:`Task`."""
        return Task.make(cls.name, cls.params_cls.from_mapping(dict(values)).as_dict())

    @classmethod
    def validate_task(cls, task: Task) -> Task:
        """Check a task belongs to this family and its values are physically valid."""
        from mtml_rl.errors import TaskError

        if task.family != cls.name:
            raise TaskError(f"task {task.id} belongs to family {task.family!r}, not {cls.name!r}")
        return cls.task(task.as_dict())

    @classmethod
    def params_array(cls, tasks: list[Task]) -> np.ndarray:
        """Stack tasks' values into a ``(P, N)`` float64 array (a categorical parameter as the
        index of its value)."""
        specs = cls.param_specs()
        rows = [[as_number(s, t[s.name]) for t in tasks] for s in specs]
        return np.array(rows, dtype=np.float64).reshape(len(specs), -1)

    # -- protocols ------------------------------------------------------------------------
    protocols: ClassVar[tuple[str, ...]] = ()
    """Protocols the family defines: a spec's ``protocol:`` names one (none by default)."""

    @classmethod
    def protocol_tasks(cls, query: ProtocolQuery) -> list[dict[str, ParamValue]] | None:
        """The values of the tasks of ``query.split`` under ``query.protocol`` (in their fixed
        order), or ``None`` for a split the protocol leaves to the spec's regions.

        :param query: the protocol, split, size, seed and the spec's fixed and categorical values
        """
        return None

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
