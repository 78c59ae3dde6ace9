"""What every family has, numpy-backed (:class:`~mtml_rl.families.base.Family`) or
simulator-backed (:class:`~mtml_rl.families.sim.SimFamily`): a registered name, a parameter
schema with the helpers that make and check tasks, the levels that reports read, and the
protocols a spec may name. Specs, splits, tasks and context codecs use only this part, so they
treat both kinds alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from mtml_rl.errors import TaskError
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.tasks.params import FamilyParams, ParamSpec, ParamValue, schema
from mtml_rl.tasks.protocol import ProtocolQuery
from mtml_rl.tasks.task import Task


class ParameterizedFamily:
    """A family's name, parameter schema, task helpers, levels and protocols."""

    name: ClassVar[str]
    """Registered name, used in specs and task ids (e.g. ``"cartpole"``)."""
    params_cls: ClassVar[type[FamilyParams]]
    """The frozen parameter dataclass (schema, defaults, physical bounds)."""
    headline_metric: ClassVar[str] = "normalized"
    """What reports lead with: ``"normalized"`` (normalized return) or ``"success"`` (success
    rate, where the family's benchmark reports it: Meta-World)."""
    reference_return: ClassVar[ReturnLevel | None] = None
    """What a competent agent earns on a task (normalizes scores where no oracle run is
    evaluated alongside); ``None``: not documented, evaluate an oracle to normalize."""
    solved_level: ClassVar[ReturnLevel | None] = None
    """The mean return at which a train task counts as solved (reports flag an oracle below
    it); ``None``: not documented."""
    protocols: ClassVar[tuple[str, ...]] = ()
    """Protocols the family defines: a spec's ``protocol:`` names one (none by default)."""

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
    def task(cls, values: Mapping[str, ParamValue]) -> Task:
        """Validate a (partial) mapping of values and return the full :class:`Task`."""
        return Task.make(cls.name, cls.params_cls.from_mapping(dict(values)).as_dict())

    @classmethod
    def default_task(cls) -> Task:
        """The task at default parameters."""
        return cls.task({})

    @classmethod
    def validate_task(cls, task: Task) -> Task:
        """Check a task belongs to this family and its values are physically valid."""
        if task.family != cls.name:
            raise TaskError(f"task {task.id} belongs to family {task.family!r}, not {cls.name!r}")
        return cls.task(task.as_dict())

    # -- protocols ------------------------------------------------------------------------
    @classmethod
    def protocol_tasks(cls, query: ProtocolQuery) -> list[dict[str, ParamValue]] | None:
        """The values of the tasks of ``query.split`` under ``query.protocol`` (in their fixed
        order), or ``None`` for a split the protocol leaves to the spec's regions.

        :param query: the protocol, split, size, seed and the spec's fixed and categorical values
        """
        return None
