"""Where a wrapped parameter lives in a Gymnasium environment: targets and their bindings.

A **target** is a dotted attribute path from the unwrapped environment, optionally
followed by an index in brackets:

- ``force``: the number ``env.unwrapped.force``;
- ``model.body_mass[pole]``: the entry of MuJoCo body ``pole`` in ``model.body_mass``;
- ``model.geom_friction[floor, 0]``: geom ``floor``'s sliding friction (row, column);
- ``model.opt.gravity[2]``: an entry by position;
- ``model.body_mass``: the whole array (a parameter then scales it).

Inside the brackets a name is a MuJoCo object's name, looked up by the array's prefix
(:data:`MUJOCO_PREFIXES`; a ``dof_`` array takes a joint's name and means the joint's
first degree of freedom); a number is a position. :func:`bind` resolves a target on a
built environment into a :class:`Binding` that reads and writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtml_rl.errors import suggest

MUJOCO_PREFIXES: dict[str, tuple[str, str]] = {
    "body_": ("mjOBJ_BODY", "nbody"),
    "geom_": ("mjOBJ_GEOM", "ngeom"),
    "jnt_": ("mjOBJ_JOINT", "njnt"),
    "dof_": ("mjOBJ_JOINT", "njnt"),
    "actuator_": ("mjOBJ_ACTUATOR", "nu"),
    "site_": ("mjOBJ_SITE", "nsite"),
    "tendon_": ("mjOBJ_TENDON", "ntendon"),
    "sensor_": ("mjOBJ_SENSOR", "nsensor"),
    "cam_": ("mjOBJ_CAMERA", "ncam"),
    "light_": ("mjOBJ_LIGHT", "nlight"),
    "eq_": ("mjOBJ_EQUALITY", "neq"),
    "mat_": ("mjOBJ_MATERIAL", "nmat"),
}
"""MuJoCo model array prefix -> (object type, count attribute) for names in brackets."""

_TARGET = re.compile(r"^(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\[(?P<index>[^\[\]]+)\])?$")
_INTEGER = re.compile(r"^-?\d+$")


class TargetError(ValueError):
    """A target is malformed or does not exist in the environment."""


@dataclass(frozen=True)
class Target:
    """A parsed target.

    :param text: the target as written
    :param path: the attribute names from the unwrapped environment
    :param index: the bracket's entries: positions (int) and MuJoCo names (str)
    """

    text: str
    path: tuple[str, ...]
    index: tuple[int | str, ...]

    @classmethod
    def parse(cls, text: object) -> Target:
        """Parse ``text``; :class:`TargetError` names the accepted forms.

        :param text: the target as a spec writes it
        """
        match = _TARGET.match(text.replace(" ", "")) if isinstance(text, str) else None
        if match is None:
            raise TargetError(
                f"{text!r} is not a target; write an attribute path of the unwrapped env, optionally "
                "indexed: force, model.body_mass[pole], model.geom_friction[floor, 0], model.opt.gravity[2]"
            )
        raw = match["index"]
        index = tuple(int(i) if _INTEGER.match(i) else i for i in raw.split(",")) if raw else ()
        return cls(str(text), tuple(match["path"].split(".")), index)


@dataclass(frozen=True)
class Binding:
    """A target resolved on one environment: reads and writes its value(s).

    :param target: the target
    :param owner: the object holding the attribute
    :param attr: the attribute's name
    :param index: the position in the array (``None``: all of it, or a plain number)
    :param array: whether the attribute is a numpy array (written in place)
    :param mujoco: whether the array belongs to a MuJoCo model (constants then need
        ``mj_setConst`` after a change)
    """

    target: Target
    owner: Any
    attr: str
    index: tuple[int, ...] | None
    array: bool
    mujoco: bool

    def get(self) -> np.ndarray:
        """A float64 copy of the current value(s) (0-d for one number)."""
        value = getattr(self.owner, self.attr)
        if self.array and self.index is not None:
            value = value[self.index]
        return np.array(value, dtype=np.float64)

    def set(self, value: np.ndarray | float) -> None:
        """Write ``value`` (broadcast over the addressed entries).

        :param value: a number, or an array of the addressed shape
        """
        current = getattr(self.owner, self.attr)
        if self.array:
            current[... if self.index is None else self.index] = value
        elif isinstance(current, np.generic):
            setattr(self.owner, self.attr, current.dtype.type(value))
        else:
            setattr(self.owner, self.attr, float(value))


def is_mujoco_model(obj: object) -> bool:
    """Whether ``obj`` is a ``mujoco.MjModel`` (without importing MuJoCo).

    :param obj: any object
    """
    cls = type(obj)
    return cls.__name__ == "MjModel" and cls.__module__.startswith("mujoco")


def bind(env: Any, target: Target) -> Binding:
    """Resolve ``target`` on ``env`` (its unwrapped environment).

    :param env: a built Gymnasium environment
    :param target: the parsed target
    :raises TargetError: naming the missing attribute or name, with the known ones
    """
    owner: Any = env.unwrapped
    for part in target.path[:-1]:
        owner = _attribute(owner, part, target)
    attr = target.path[-1]
    value = _attribute(owner, attr, target)
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number):
        index = _position(owner, attr, value, target) if target.index else None
        return Binding(target, owner, attr, index, True, is_mujoco_model(owner))
    if _is_number(value):
        if target.index:
            raise TargetError(f"{target.text}: {attr!r} is a number ({value}); drop the [...]")
        return Binding(target, owner, attr, None, False, False)
    raise TargetError(
        f"{target.text}: {attr!r} is a {type(value).__name__}, not a number or an array of numbers"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _attribute(owner: Any, name: str, target: Target) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        known = [a for a in dir(owner) if not a.startswith("_")]
        raise TargetError(
            f"{target.text}: {type(owner).__name__} has no attribute {name!r}{suggest(name, known)}"
        ) from None


def _position(owner: Any, attr: str, value: np.ndarray, target: Target) -> tuple[int, ...]:
    items = list(target.index)
    if isinstance(items[0], str):
        items[0] = _mujoco_id(owner, attr, items[0], target)
    if any(isinstance(i, str) for i in items[1:]):
        raise TargetError(f"{target.text}: only the first index may be a name; give the others as numbers")
    position = tuple(int(i) for i in items)
    if len(position) > value.ndim or any(
        not -n <= i < n for i, n in zip(position, value.shape, strict=False)
    ):
        raise TargetError(f"{target.text}: index {list(position)} is out of range for shape {value.shape}")
    return position


def _mujoco_id(owner: Any, attr: str, name: str, target: Target) -> int:
    prefix = next((p for p in MUJOCO_PREFIXES if attr.startswith(p)), None)
    if not is_mujoco_model(owner) or prefix is None:
        raise TargetError(
            f"{target.text}: a name in [...] needs a MuJoCo model array whose name starts with one of "
            f"{', '.join(MUJOCO_PREFIXES)}; index {attr!r} by position"
        )
    import mujoco

    kind, count = MUJOCO_PREFIXES[prefix]
    objtype = getattr(mujoco.mjtObj, kind)
    found = int(mujoco.mj_name2id(owner, objtype, name))
    if found < 0:
        names = [mujoco.mj_id2name(owner, objtype, i) or str(i) for i in range(int(getattr(owner, count)))]
        raise TargetError(
            f"{target.text}: the model has no {kind.removeprefix('mjOBJ_').lower()} {name!r}"
            f"{suggest(name, names)}; its names are {', '.join(names)}"
        )
    return int(owner.jnt_dofadr[found]) if prefix == "dof_" else found
