"""The ``gymnasium:`` block of a spec: which Gymnasium id to wrap and where its parameters live.

.. code-block:: yaml

    family: gymnasium
    gymnasium:
      id: CartPole-v1                 # any registered id ("pkg.module:Id" imports pkg first)
      kwargs: {}                      # optional keyword arguments of gym.make
      parameters:
        masspole:                     # the parameter's name in the spec and in tasks
          target: masspole            # optional (default: the name); see targets.py
          bounds: [0.01, 10.0]        # required: physical validity bounds
          scale: false                # optional: true makes it a multiplier of the nominal value
          unit: kg                    # optional
          doc: mass of the pole       # optional
      derived:                        # optional: recomputed after the parameters are set
        total_mass: masspole + masscart
        polemass_length: masspole * length

Errors are :class:`~mtml_rl.errors.SpecError` naming the field (``gymnasium.parameters.masspole.bounds``).
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mtml_rl.errors import SpecError, suggest
from mtml_rl.families.wrap.expressions import Expression, ExpressionError
from mtml_rl.families.wrap.targets import Target, TargetError

BLOCK_KEYS = {"id": True, "kwargs": False, "parameters": True, "derived": False}
PARAMETER_KEYS = {"target": False, "bounds": True, "scale": False, "unit": False, "doc": False}


@dataclass(frozen=True)
class WrappedParameter:
    """One parameter of a wrapped environment.

    :param name: its name in specs and tasks
    :param target: where it lives in the environment
    :param low: the lowest physically valid value
    :param high: the highest physically valid value
    :param scale: the value multiplies the target's nominal value (default 1) instead of
        replacing it (default: the value read from the environment)
    :param unit: the physical unit
    :param doc: what it means
    """

    name: str
    target: Target
    low: float
    high: float
    scale: bool = False
    unit: str = ""
    doc: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The parameter as plain data (the YAML schema)."""
        data: dict[str, Any] = {"target": self.target.text, "bounds": [self.low, self.high]}
        if self.scale:
            data["scale"] = True
        return {**data, "unit": self.unit, "doc": self.doc}


@dataclass(frozen=True)
class DerivedValue:
    """An attribute the environment caches, recomputed from an expression after every task.

    :param target: the attribute (or model entry) to write
    :param expression: its value, over parameters and environment attributes
    """

    target: Target
    expression: Expression


@dataclass(frozen=True, eq=False)
class GymnasiumBlock:
    """A validated ``gymnasium:`` block; equal and hashed by its plain data.

    :param env_id: the Gymnasium id to build
    :param kwargs: keyword arguments of ``gym.make``
    :param parameters: the wrapped parameters, in declaration order
    :param derived: attributes recomputed after the parameters are applied, in order
    """

    env_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    parameters: tuple[WrappedParameter, ...] = ()
    derived: tuple[DerivedValue, ...] = ()

    @property
    def family_name(self) -> str:
        """The family's name in tasks: ``gym_`` and the id in lower case (``gym_cartpole_v1``)."""
        bare = self.env_id.split(":")[-1].lower()
        return "gym_" + re.sub(r"[^a-z0-9]+", "_", bare).strip("_")

    def to_dict(self) -> dict[str, Any]:
        """The block as plain data (what :func:`parse_block` reads back)."""
        data: dict[str, Any] = {"id": self.env_id}
        if self.kwargs:
            data["kwargs"] = dict(self.kwargs)
        data["parameters"] = {p.name: p.to_dict() for p in self.parameters}
        if self.derived:
            data["derived"] = {d.target.text: d.expression.text for d in self.derived}
        return data

    def _key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GymnasiumBlock) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def parse_block(raw: Any, source: str | None = None) -> GymnasiumBlock:
    """Validate a spec's ``gymnasium:`` block.

    :param raw: the block as loaded from YAML
    :param source: the spec's file (for messages)
    :raises SpecError: naming the field and the fix
    """
    where = "gymnasium"
    if not isinstance(raw, Mapping):
        raise SpecError(
            "family: gymnasium needs a 'gymnasium:' block with 'id' and 'parameters' (docs/families.md)",
            source=source,
            field=where,
        )
    _check_keys(raw, BLOCK_KEYS, where, source)
    env_id = raw["id"]
    if not isinstance(env_id, str) or not env_id:
        raise SpecError(f"expected a Gymnasium id, got {env_id!r}", source=source, field=f"{where}.id")
    kwargs = raw.get("kwargs") or {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
        raise SpecError("expected a mapping of keyword arguments", source=source, field=f"{where}.kwargs")
    parameters = _parse_parameters(raw["parameters"], source)
    derived = _parse_derived(raw.get("derived"), parameters, source)
    return GymnasiumBlock(env_id, dict(kwargs), parameters, derived)


def _check_keys(raw: Mapping[str, Any], allowed: Mapping[str, bool], where: str, source: str | None) -> None:
    for key in raw:
        if key not in allowed:
            raise SpecError(
                f"unknown field{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}",
                source=source,
                field=f"{where}.{key}",
            )
    for key, required in allowed.items():
        if required and key not in raw:
            raise SpecError("missing required field", source=source, field=f"{where}.{key}")


def _parse_parameters(raw: Any, source: str | None) -> tuple[WrappedParameter, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise SpecError(
            "expected a mapping of at least one parameter: name: {target: ..., bounds: [min, max]}",
            source=source,
            field="gymnasium.parameters",
        )
    return tuple(_parse_parameter(str(name), entry, source) for name, entry in raw.items())


def _parse_parameter(name: str, entry: Any, source: str | None) -> WrappedParameter:
    where = f"gymnasium.parameters.{name}"
    if not name.isidentifier() or keyword.iskeyword(name) or name == "family":
        raise SpecError(
            "a parameter's name must be a Python identifier (letters, digits, '_') other than 'family'",
            source=source,
            field=where,
        )
    if not isinstance(entry, Mapping):
        raise SpecError("expected a mapping with 'bounds' (and 'target')", source=source, field=where)
    _check_keys(entry, PARAMETER_KEYS, where, source)
    try:
        target = Target.parse(entry.get("target", name))
    except TargetError as exc:
        raise SpecError(str(exc), source=source, field=f"{where}.target") from None
    low, high = _bounds(entry["bounds"], f"{where}.bounds", source)
    scale = entry.get("scale", False)
    if not isinstance(scale, bool):
        raise SpecError(f"expected true or false, got {scale!r}", source=source, field=f"{where}.scale")
    if scale and not low <= 1.0 <= high:
        raise SpecError(
            f"a scale's default is 1, outside [{low}, {high}]; include 1 in the bounds",
            source=source,
            field=f"{where}.bounds",
        )
    texts = {k: entry.get(k, "") for k in ("unit", "doc")}
    for key, text in texts.items():
        if not isinstance(text, str):
            raise SpecError(f"expected a string, got {text!r}", source=source, field=f"{where}.{key}")
    return WrappedParameter(name, target, low, high, scale, texts["unit"], texts["doc"])


def _bounds(raw: Any, where: str, source: str | None) -> tuple[float, float]:
    numbers = isinstance(raw, (list, tuple)) and len(raw) == 2
    if not numbers or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        raise SpecError(f"expected bounds [min, max], got {raw!r}", source=source, field=where)
    low, high = float(raw[0]), float(raw[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise SpecError(f"expected finite bounds with min <= max, got {raw!r}", source=source, field=where)
    return low, high


def _parse_derived(
    raw: Any, parameters: tuple[WrappedParameter, ...], source: str | None
) -> tuple[DerivedValue, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise SpecError("expected a mapping target: expression", source=source, field="gymnasium.derived")
    targets = {p.target.text for p in parameters}
    out = []
    for text, expression in raw.items():
        where = f"gymnasium.derived.{text}"
        try:
            target = Target.parse(text)
            if target.text in targets:
                raise TargetError(f"{text!r} is a parameter's target; a derived value must be another one")
            out.append(DerivedValue(target, Expression.parse(expression)))
        except (TargetError, ExpressionError) as exc:
            raise SpecError(str(exc), source=source, field=where) from None
    return tuple(out)
