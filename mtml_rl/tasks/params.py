"""Parameter schemas: what a family's physical parameters are and which values are valid.

A family declares its parameters once, as a frozen dataclass whose fields are made by
:func:`param`. The dataclass validates values in ``__post_init__``; :func:`schema`
reads the declaration back as :class:`ParamSpec` records.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from mtml_rl.errors import TaskError, UnknownNameError


@dataclass(frozen=True)
class ParamSpec:
    """One physical parameter of a family.

    :param name: the parameter's name, as used in specs and tasks
    :param default: the value at which the family reproduces its reference environment
    :param low: the lowest physically valid value (inclusive)
    :param high: the highest physically valid value (inclusive)
    :param unit: the physical unit ("" when dimensionless)
    :param doc: one line saying what the parameter means
    """

    name: str
    default: float
    low: float
    high: float
    unit: str
    doc: str

    def contains(self, value: float) -> bool:
        """Whether ``value`` is finite and inside the physical bounds."""
        return math.isfinite(value) and self.low <= value <= self.high


def param(default: float, *, low: float, high: float, unit: str = "", doc: str) -> Any:
    """Declare one parameter field of a :class:`FamilyParams` dataclass."""
    if not low <= default <= high:
        raise ValueError(f"default {default} outside its bounds [{low}, {high}]")
    return field(default=default, metadata={"low": low, "high": high, "unit": unit, "doc": doc})


@dataclass(frozen=True)
class FamilyParams:
    """Base of every family's frozen parameter dataclass.

    Subclasses declare fields with :func:`param` and set ``family``. Construction
    validates every value against its physical bounds and raises :class:`TaskError`
    with the fix.
    """

    family: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for spec in schema(type(self)):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TaskError(
                    f"{self.family}: parameter {spec.name!r} must be a number, got {type(value).__name__} "
                    f"{value!r}"
                )
            value = float(value)
            object.__setattr__(self, spec.name, value)
            if not spec.contains(value):
                raise TaskError(
                    f"{self.family}: parameter {spec.name!r} = {value} is outside its physical bounds "
                    f"[{spec.low}, {spec.high}] {spec.unit}".rstrip()
                    + f"; choose a value in that range ({spec.doc})"
                )

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> FamilyParams:
        """Build from a (possibly partial) mapping; missing parameters take their defaults."""
        names = [s.name for s in schema(cls)]
        for key in values:
            if key not in names:
                raise UnknownNameError(f"{cls.family} parameter", key, names)
        return cls(**values)

    def as_dict(self) -> dict[str, float]:
        """The parameter values by name, in declaration order."""
        return {s.name: float(getattr(self, s.name)) for s in schema(type(self))}

    def as_array(self) -> np.ndarray:
        """The parameter values as a float64 vector, in declaration order."""
        return np.array([getattr(self, s.name) for s in schema(type(self))], dtype=np.float64)


def schema(params_cls: type[FamilyParams]) -> tuple[ParamSpec, ...]:
    """Read a parameter dataclass's declaration as :class:`ParamSpec` records."""
    out = []
    for f in dataclasses.fields(params_cls):
        meta = f.metadata
        out.append(
            ParamSpec(
                name=f.name,
                default=float(f.default),  # type: ignore[arg-type]
                low=float(meta["low"]),
                high=float(meta["high"]),
                unit=str(meta["unit"]),
                doc=str(meta["doc"]),
            )
        )
    return tuple(out)
