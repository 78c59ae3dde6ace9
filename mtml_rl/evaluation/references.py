"""Documented per-family reference returns: ``R_reference`` where no oracle is evaluated.

The normalized score of a task is ``(R - R_random) / (R_reference - R_random)``. The best
reference is the return of the ``oracle`` (the privileged upper bound) on the same task,
measured when an oracle run is evaluated alongside. Without one, the family's documented
reference return is used (``reference_return``, a
:class:`~mtml_rl.families.ReturnLevel` class attribute of the family): the return of a
competent single-task agent at the family's default parameters, scaled to the spec's episode
length where the return accrues per step. The built-in values are deliberately round numbers
with the reasoning written next to them, not measurements; a report says which reference
every task used.

Families without one (the MuJoCo and Box2D built-ins, whose attainable returns depend strongly
on the task and the budget) are normalized only against an ``oracle`` evaluated alongside;
their raw returns are reported either way.

A normalized score is only as meaningful as its reference: a score against an undertrained
oracle says little. A family with a documented *solved level* (``solved_level``: Gymnasium's
reward threshold where the reference environment has one, else a stated rule) lets a report
flag a spec whose oracle falls below it on the tasks inside the train ranges. A family of
one's own documents both the same way (docs/families.md).
"""

from __future__ import annotations

from mtml_rl.errors import FamilyError
from mtml_rl.families import ReturnLevel, family_names, get_family
from mtml_rl.specs.spec import TaskSpec


def _level(spec: TaskSpec, attribute: str) -> float | None:
    level: ReturnLevel | None = getattr(spec.family_cls, attribute, None)
    return None if level is None else level.value(spec.max_episode_steps)


def family_reference(spec: TaskSpec) -> float | None:
    """The documented reference return of ``spec``'s family, or ``None`` if it has none."""
    return _level(spec, "reference_return")


def solved_level(spec: TaskSpec) -> float | None:
    """The solved level of ``spec``'s family on its episode length, or ``None`` if it has none."""
    return _level(spec, "solved_level")


def _documented(attribute: str) -> dict[str, ReturnLevel]:
    levels = {}
    for name in family_names():
        try:
            level = getattr(get_family(name), attribute, None)
        except FamilyError:  # an installed family that does not import: it documents nothing here
            continue
        if level is not None:
            levels[name] = level
    return levels


def documented_references() -> dict[str, ReturnLevel]:
    """The reference returns of every family found by name (built-in, registered, installed)
    that documents one, by family name."""
    return _documented("reference_return")


def documented_solved_levels() -> dict[str, ReturnLevel]:
    """The solved levels of every family found by name that documents one, by family name."""
    return _documented("solved_level")
