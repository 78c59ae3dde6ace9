"""Parameter schemas: what a family's physical parameters are and which values are valid.

A family declares its parameters once, as a frozen dataclass whose fields are made by
:func:`param` (a number with physical bounds) or :func:`categorical` (one of a finite set
of names, e.g. which Meta-World environment a task runs). The dataclass validates values
in ``__post_init__``; :func:`schema` reads the declaration back as :class:`ParamSpec`
records.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

import numpy as np

from mtml_rl.errors import TaskError, UnknownNameError, suggest

ParamValue: TypeAlias = "float | str"
"""A parameter's value: a number, or a name for a categorical parameter."""


@dataclass(frozen=True)
class ParamSpec:
    """One physical parameter of a family.

    :param name: the parameter's name, as used in specs and tasks
    :param default: the value at which the family reproduces its reference environment
    :param low: the lowest physically valid value (inclusive); for a categorical
        parameter the first index, 0
    :param high: the highest physically valid value (inclusive); for a categorical
        parameter the last index
    :param unit: the physical unit ("" when dimensionless)
    :param doc: one line saying what the parameter means
    :param values: the names a categorical parameter takes, in order (empty for a number)
    """

    name: str
    default: ParamValue
    low: float
    high: float
    unit: str
    doc: str
    values: tuple[str, ...] = ()

    @property
    def categorical(self) -> bool:
        """Whether the parameter's values are names from :attr:`values`."""
        return bool(self.values)

    def contains(self, value: ParamValue) -> bool:
        """Whether ``value`` is valid: one of :attr:`values` for a categorical parameter,
        else a finite number inside the physical bounds."""
        if self.categorical:
            return isinstance(value, str) and value in self.values
        if isinstance(value, str):
            return False
        return math.isfinite(value) and self.low <= value <= self.high

    def index(self, value: str) -> int:
        """The position of a categorical value in :attr:`values`."""
        return self.values.index(value)


def param(default: float, *, low: float, high: float, unit: str = "", doc: str) -> Any:
    """Declare one numeric parameter field of a :class:`FamilyParams` dataclass."""
    if not low <= default <= high:
        raise ValueError(f"default {default} outside its bounds [{low}, {high}]")
    return field(default=default, metadata={"low": low, "high": high, "unit": unit, "doc": doc})


def categorical(default: str, *, values: Sequence[str], doc: str) -> Any:
    """Declare one categorical parameter field of a :class:`FamilyParams` dataclass: its value
    is one of ``values`` (names, e.g. environment names).

    :param default: the default value (one of ``values``)
    :param values: every value the parameter can take, in a fixed order (its one-hot order)
    :param doc: one line saying what the parameter means
    """
    names = tuple(values)
    if not names or any(not isinstance(v, str) or not v for v in names):
        raise ValueError(f"a categorical parameter needs non-empty string values, got {values!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"categorical values repeat: {values!r}")
    if default not in names:
        raise ValueError(f"default {default!r} is not one of the values {names}")
    return field(default=default, metadata={"values": names, "unit": "", "doc": doc})


def _check_value(family: str, spec: ParamSpec, value: Any) -> ParamValue:
    """``value`` as the parameter stores it (float or name); raises :class:`TaskError` with the fix."""
    if spec.categorical:
        if not isinstance(value, str) or value not in spec.values:
            raise TaskError(
                f"{family}: parameter {spec.name!r} = {value!r} is not one of its values"
                f"{suggest(str(value), spec.values)}; choose one of {', '.join(spec.values)}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TaskError(
            f"{family}: parameter {spec.name!r} must be a number, got {type(value).__name__} {value!r}"
        )
    number = float(value)
    if not spec.contains(number):
        raise TaskError(
            f"{family}: parameter {spec.name!r} = {number} is outside its physical bounds "
            f"[{spec.low}, {spec.high}] {spec.unit}".rstrip()
            + f"; choose a value in that range ({spec.doc})"
        )
    return number


@dataclass(frozen=True)
class FamilyParams:
    """Base of every family's frozen parameter dataclass.

    Subclasses declare fields with :func:`param` or :func:`categorical` and set ``family``.
    Construction validates every value (numbers against their physical bounds, names
    against the categorical values) and raises :class:`TaskError` with the fix.
    """

    family: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for spec in schema(type(self)):
            object.__setattr__(self, spec.name, _check_value(self.family, spec, getattr(self, spec.name)))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FamilyParams:
        """Build from a (possibly partial) mapping; missing parameters take their defaults."""
        names = [s.name for s in schema(cls)]
        for key in values:
            if key not in names:
                raise UnknownNameError(f"{cls.family} parameter", key, names)
        return cls(**values)

    def as_dict(self) -> dict[str, ParamValue]:
        """The parameter values by name, in declaration order (names for categorical ones)."""
        return {s.name: _stored(getattr(self, s.name), s) for s in schema(type(self))}

    def as_array(self) -> np.ndarray:
        """The parameter values as a float64 vector, in declaration order (a categorical
        parameter as the index of its value)."""
        return np.array([as_number(s, getattr(self, s.name)) for s in schema(type(self))], dtype=np.float64)


def _stored(value: Any, spec: ParamSpec) -> ParamValue:
    return str(value) if spec.categorical else float(value)


def as_number(spec: ParamSpec, value: ParamValue) -> float:
    """A parameter value as a number: the value itself, or a categorical value's index.

    :param spec: the parameter
    :param value: its value
    """
    if spec.categorical:
        return float(spec.index(str(value)))
    return float(value)


def schema(params_cls: type[FamilyParams]) -> tuple[ParamSpec, ...]:
    """Read a parameter dataclass's declaration as :class:`ParamSpec` records."""
    return _SCHEMAS.get(params_cls) or _SCHEMAS.setdefault(params_cls, _read_schema(params_cls))


_SCHEMAS: dict[type, tuple[ParamSpec, ...]] = {}


def _read_schema(params_cls: type[FamilyParams]) -> tuple[ParamSpec, ...]:
    out = []
    for f in dataclasses.fields(params_cls):
        meta = f.metadata
        values = tuple(meta.get("values", ()))
        if values:
            low, high, default = 0.0, float(len(values) - 1), f.default
        else:
            low, high, default = float(meta["low"]), float(meta["high"]), float(f.default)  # type: ignore[arg-type]
        out.append(
            ParamSpec(
                name=f.name,
                default=default,  # type: ignore[arg-type]
                low=low,
                high=high,
                unit=str(meta["unit"]),
                doc=str(meta["doc"]),
                values=values,
            )
        )
    return tuple(out)
