"""What a family class must declare, checked when it is registered or first resolved.

A user's family gets one :class:`~mtml_rl.errors.FamilyError` naming what is missing and
how to fix it, at the moment the registry hands the class out, instead of an
``AttributeError`` deep inside an environment.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any, TypeAlias

from gymnasium import spaces

from mtml_rl.errors import FamilyError
from mtml_rl.families.actions import check_action_space
from mtml_rl.families.base import Family
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.families.sim import SimFamily
from mtml_rl.tasks.params import FamilyParams

FamilyClass: TypeAlias = "type[Family] | type[SimFamily[Any]]"
"""A numpy family class or a simulator family class."""

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
"""A family name: a letter, then letters, digits and ``_`` (it appears in task ids and file names)."""

_REQUIRED: dict[str, str] = {
    "name": "the family's name, used in specs and task ids (e.g. name = 'my_family')",
    "params_cls": "the frozen FamilyParams dataclass of its parameters",
}
_REQUIRED_NUMPY = {"n_reset_uniforms": "how many U[0, 1) doubles one reset draws (0 for a fixed start)"}
_REQUIRED_SIM = {"reference_id": "the Gymnasium id it builds (e.g. reference_id = 'Hopper-v5')"}

NUMPY_ACTION_FIX = "return Discrete(n) or Box(-1.0, 1.0, shape) from action_space() and rescale inside step()"
SIM_ACTION_FIX = (
    "SimFamily normalizes its simulator's space by default; an override of action_space() must "
    "return Discrete(n) or Box(-1, 1) and simulator_action() map those actions back"
)


def describe(obj: object) -> str:
    """``module:QualName`` of a class, else the object's repr.

    :param obj: any object
    """
    if isinstance(obj, type):
        return f"{obj.__module__}:{obj.__qualname__}"
    return repr(obj)


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid family name, else raise :class:`FamilyError`.

    :param name: the candidate name
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise FamilyError(
            f"family name {name!r} is not valid; use a letter followed by letters, digits and '_' "
            "(e.g. 'my_family')"
        )
    return name


def check_family_class(obj: object, name: str | None = None) -> FamilyClass:
    """Check that ``obj`` is a complete family class, and that it is called ``name``.

    :param obj: the class to check
    :param name: the name it is registered under (``None``: any valid name)
    :raises FamilyError: naming what is wrong and the fix
    """
    if not isinstance(obj, type) or not issubclass(obj, (Family, SimFamily)):
        raise FamilyError(
            f"{describe(obj)} is not a family class; subclass mtml_rl.families.Family (numpy "
            "dynamics) or mtml_rl.families.SimFamily (a Gymnasium simulator)"
        )
    where = describe(obj)
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        raise FamilyError(f"family class {where} does not implement {missing}; define them")
    required = {**_REQUIRED, **(_REQUIRED_SIM if issubclass(obj, SimFamily) else _REQUIRED_NUMPY)}
    for attribute, meaning in required.items():
        if not hasattr(obj, attribute):
            raise FamilyError(f"family class {where} does not set {attribute!r}: {meaning}")
    check_name(obj.name)
    if name is not None and obj.name != name:
        raise FamilyError(
            f"family class {where} is called {obj.name!r} but registered as {name!r}; "
            f"set name = {name!r} in the class or register it under {obj.name!r}"
        )
    _check_params_cls(obj, where)
    _check_levels(obj, where)
    return obj


def _check_levels(cls: FamilyClass, where: str) -> None:
    for attribute in ("reference_return", "solved_level"):
        level = getattr(cls, attribute, None)
        if level is not None and not isinstance(level, ReturnLevel):
            raise FamilyError(
                f"family class {where}: {attribute} = {level!r} is not a ReturnLevel; write "
                f"{attribute} = ReturnLevel(reason, fixed=..., per_step=...) "
                "(mtml_rl.families.ReturnLevel) or leave it None"
            )


def _check_params_cls(cls: FamilyClass, where: str) -> None:
    params_cls = cls.params_cls
    if not (
        isinstance(params_cls, type)
        and issubclass(params_cls, FamilyParams)
        and dataclasses.is_dataclass(params_cls)
        and params_cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    ):
        raise FamilyError(
            f"family class {where}: params_cls = {params_cls!r} is not a frozen dataclass deriving "
            "from mtml_rl.tasks.FamilyParams; declare it with @dataclass(frozen=True) and param() fields"
        )
    if not dataclasses.fields(params_cls):
        raise FamilyError(f"family class {where}: {params_cls.__qualname__} declares no parameter; add one")


NUMPY_OBSERVATION_FIX = "return Box(low, high, (n,)) from observation_space()"
SIM_OBSERVATION_FIX = (
    "register a Gymnasium id that wraps the environment in gymnasium.wrappers.FlattenObservation "
    "and name that id (an image needs a convolutional encoder, which mtml-rl does not have)"
)


def observes_one_vector(space: spaces.Space[Any]) -> bool:
    """Whether ``space`` is what a family may observe: a Box of shape ``(n,)``."""
    return isinstance(space, spaces.Box) and len(space.shape) == 1


def check_family_observations(family: Family | SimFamily[Any]) -> None:
    """Raise :class:`FamilyError` unless ``family`` observes one vector (a Box of shape
    ``(n,)``), what the meta-policy's encoders, the history window and the context columns
    take: an image or a grid (``CarRacing-v3``'s 96 x 96 x 3) ended in a matrix-shape error
    from torch, reported as bad hyperparameters.

    :param family: a family instance
    """
    space = family.observation_space()
    if observes_one_vector(space):
        return
    fix = SIM_OBSERVATION_FIX if isinstance(family, SimFamily) else NUMPY_OBSERVATION_FIX
    raise FamilyError(
        f"family {family.name!r} observes {space}, but the suite's encoders take one vector of "
        f"floats (a Box of shape (n,)); {fix}"
    )


def check_family_actions(family: Family | SimFamily[Any]) -> None:
    """Raise :class:`FamilyError` unless ``family``'s action space follows the suite's rule
    (``Discrete(n)`` starting at 0, or a Box bounded by exactly [-1, 1]).

    :param family: a family instance
    """
    fix = SIM_ACTION_FIX if isinstance(family, SimFamily) else NUMPY_ACTION_FIX
    check_action_space(family.action_space(), family.name, fix)
