"""Task-distribution specs: loading and validating ``envs/*.yaml``.

A spec says which family, which parameters vary over which train region, which
held-out regions exist, how many tasks each split holds, the seed, the episode length
and the default context visibility. One file is one registered id.

A numeric parameter's regions are intervals (``[a, b]`` or ``[[a, b], [c, d]]``); a
categorical parameter's regions are lists of its values (``[reach-v3, push-v3]``), so held-out
values (environments never trained on, say) form its extrapolation region. A spec may name a
``protocol:`` its family defines, whose exact task lists then fill some splits
(:mod:`mtml_rl.tasks.protocol`).

A spec whose tasks have no trustworthy parameters to show a policy (a family where the
context is unknown even at training time, say) sets ``privileged_context: false``: its
environments then refuse the ``visible`` and ``privileged`` context modes, and training
refuses the methods that read the context (``oracle``, ``adapt``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtml_rl.errors import FamilyError, SpecError, UnknownNameError, suggest
from mtml_rl.families.checks import FamilyClass
from mtml_rl.families.registry import (
    GENERIC_FAMILY,
    family_names,
    family_ref,
    get_family,
    is_family_ref,
    resolve_family,
)
from mtml_rl.families.wrap import GymnasiumBlock, parse_block, wrapped_family
from mtml_rl.io import InputFileError, load_trusted_yaml, load_yaml_text, read_text_file
from mtml_rl.tasks.params import ParamSpec, ParamValue
from mtml_rl.tasks.regions import Interval, Region, ValueSet

CONTEXT_MODES = ("hidden", "visible", "privileged")
SPLIT_NAMES = ("train", "test-interpolation", "test-extrapolation", "test-combinatorial")
TOP_LEVEL_KEYS = {
    "name": True,
    "version": False,
    "family": True,
    "gymnasium": False,
    "description": False,
    "seed": True,
    "max_episode_steps": True,
    "context": False,
    "privileged_context": False,
    "parameters": True,
    "fixed": False,
    "combinatorial": False,
    "splits": True,
    "protocol": False,
}
PARAMETER_KEYS = ("train", "extrapolation")
MAX_SPEC_BYTES = 1_000_000
"""The largest spec file read (a spec is a page of YAML)."""
MAX_NAME_CHARS = 64
"""The longest spec name (it becomes part of ids, run folders and file names)."""
MAX_INTEGER = 2**63 - 1
"""The largest integer a spec field may hold (seeds and step counts are int64)."""
MAX_SPLIT_TASKS = 100_000
"""The most tasks a split may hold (every split is drawn and hashed when a spec is used)."""
MAX_EPISODE_STEPS = 100_000
"""The longest time limit a spec may set: an evaluation records every step of its adaptation
curves (``results.json``), and Gymnasium's longest-lived environments stop well before it
(Atari's 108,000 frames are 27,000 steps)."""
NOT_HASHED = ("name", "version", "description", "context")
"""Spec fields that do not define the tasks: left out of :meth:`TaskSpec.content_hash`."""


@dataclass(frozen=True)
class VaryingParameter:
    """One parameter that varies across tasks.

    :param name: the family parameter's name
    :param train: the region training tasks are drawn from (interpolation tasks too):
        intervals of a numeric parameter, or a set of values of a categorical one
    :param extrapolation: held-out region outside ``train`` (may be empty), of the same kind
    """

    name: str
    train: Region | ValueSet
    extrapolation: Region | ValueSet | None

    @property
    def categorical(self) -> bool:
        """Whether the parameter is categorical (its regions are sets of values)."""
        return isinstance(self.train, ValueSet)

    @property
    def train_values(self) -> tuple[str, ...]:
        """A categorical parameter's train values (the only ones training tasks take)."""
        if not isinstance(self.train, ValueSet):
            raise SpecError(f"parameter {self.name!r} is numeric: it has no values, only intervals")
        return self.train.values

    @property
    def values(self) -> tuple[str, ...]:
        """A categorical parameter's train values, then its held-out ones (its one-hot order)."""
        if not isinstance(self.train, ValueSet):
            raise SpecError(f"parameter {self.name!r} is numeric: it has no values, only intervals")
        held = self.extrapolation.values if isinstance(self.extrapolation, ValueSet) else ()
        return self.train.values + held

    @property
    def center(self) -> float:
        """Midpoint of the train region's hull (context normalization of a numeric parameter)."""
        train = self._region()
        return 0.5 * (train.low + train.high)

    @property
    def half_width(self) -> float:
        """Half the width of the train region's hull (at least 1e-8)."""
        train = self._region()
        return max(0.5 * (train.high - train.low), 1e-8)

    def _region(self) -> Region:
        if not isinstance(self.train, Region):
            raise SpecError(f"parameter {self.name!r} is categorical: its region is a set of values")
        return self.train


@dataclass(frozen=True)
class TaskSpec:
    """A validated task-distribution spec.

    :param name: the environment name; the registered id is ``mtml/<name>-v<version>``
    :param version: the id's version number
    :param family: the family's name (what its tasks carry)
    :param description: one paragraph for users
    :param seed: the seed from which every split is built
    :param max_episode_steps: the time limit (truncation only)
    :param context: the default context visibility
    :param parameters: the varying parameters, in the family's declaration order
    :param fixed: constant non-default values of parameters that do not vary
    :param combinatorial: a held-out sub-box: the train region minus it is trained on
    :param split_sizes: how many tasks each split holds
    :param privileged_context: whether the true context may be shown to a policy during
        training (``visible``/``privileged`` modes, the ``oracle`` and ``adapt`` methods)
    :param protocol: a protocol of the family (its exact task lists fill the splits it
        defines), or ``None``
    :param family_ref: ``"pkg.module:Class"`` of a family that is not built in, so that any
        process (a spawned or Ray worker, a later ``Run.load``) finds it without the
        registration; ``None`` for built-in families
    :param gymnasium: the generic family's block (``family: gymnasium``): the Gymnasium id
        and where each parameter lives in it; ``None`` for other families
    :param source: where the spec was loaded from
    """

    name: str
    version: int
    family: str
    description: str
    seed: int
    max_episode_steps: int
    context: str
    parameters: tuple[VaryingParameter, ...]
    fixed: Mapping[str, ParamValue]
    combinatorial: Mapping[str, Interval]
    split_sizes: Mapping[str, int]
    privileged_context: bool = True
    protocol: str | None = None
    family_ref: str | None = None
    gymnasium: GymnasiumBlock | None = None
    source: str = field(default="<memory>", compare=False)

    @property
    def id(self) -> str:
        """The registered Gymnasium id."""
        return f"mtml/{self.name}-v{self.version}"

    @property
    def family_cls(self) -> FamilyClass:
        """The family class: built from :attr:`gymnasium` for the generic family, else found
        by :attr:`family_ref` where there is one, else by name."""
        if self.gymnasium is not None:
            return wrapped_family(self.gymnasium)
        return resolve_family(self.family, self.family_ref)

    @property
    def varying(self) -> tuple[str, ...]:
        """Names of the varying parameters (the context's entries, in order)."""
        return tuple(p.name for p in self.parameters)

    @property
    def categorical(self) -> tuple[VaryingParameter, ...]:
        """The varying categorical parameters (what a task id is made of)."""
        return tuple(p for p in self.parameters if p.categorical)

    def parameter(self, name: str) -> VaryingParameter:
        """The varying parameter called ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise SpecError(f"parameter {name!r} does not vary{suggest(name, self.varying)}", source=self.source)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (the YAML schema).

        ``privileged_context`` appears only when it is ``false`` (its default is left out).
        ``family`` is the family's reference where it has one (a family that is not built
        in), so that the data alone finds the family in any process; a generic family's
        spec writes ``family: gymnasium`` and its ``gymnasium:`` block.
        """
        params: dict[str, Any] = {}
        for p in self.parameters:
            entry: dict[str, Any] = {"train": p.train.as_list()}
            if p.extrapolation is not None:
                entry["extrapolation"] = p.extrapolation.as_list()
            params[p.name] = entry
        data: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.gymnasium is not None:
            data.update(family=GENERIC_FAMILY, gymnasium=self.gymnasium.to_dict())
        else:
            data["family"] = self.family_ref or self.family
        data |= {
            "description": self.description,
            "seed": self.seed,
            "max_episode_steps": self.max_episode_steps,
            "context": self.context,
        }
        if not self.privileged_context:
            data["privileged_context"] = False
        if self.protocol is not None:
            data["protocol"] = self.protocol
        return {
            **data,
            "parameters": params,
            "fixed": dict(self.fixed),
            "combinatorial": {k: v.as_list() for k, v in self.combinatorial.items()},
            "splits": dict(self.split_sizes),
        }

    def content_hash(self) -> str:
        """A hash of what defines the tasks (16 hex digits): everything in :meth:`to_dict` but
        the fields in :data:`NOT_HASHED`, so that renaming a spec or editing its description
        leaves its runs and results valid."""
        data = {k: v for k, v in self.to_dict().items() if k not in NOT_HASHED}
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------
class _Parser:
    """Validates raw YAML data field by field; errors name the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, fieldname: str | None, message: str) -> SpecError:
        return SpecError(message, source=self.source, field=fieldname)

    def number(self, value: Any, fieldname: str) -> float:
        """A finite number (NaN and infinities are refused)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(fieldname, f"expected a number, got {type(value).__name__} {value!r}")
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(fieldname, f"{value} is too large for a number") from None
        if not math.isfinite(number):
            raise self.fail(fieldname, f"expected a finite number, got {number}")
        return number

    def integer(self, value: Any, fieldname: str, minimum: int, maximum: int = MAX_INTEGER) -> int:
        """An integer in ``[minimum, maximum]``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(fieldname, f"expected an integer, got {type(value).__name__} {value!r}")
        if value < minimum:
            raise self.fail(fieldname, f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise self.fail(fieldname, f"must be at most {maximum:,}, got {value:,}")
        return value

    def name(self, value: Any, fieldname: str = "name") -> str:
        """A spec name: letters, digits and '_', at most :data:`MAX_NAME_CHARS` characters (it
        names ids, run folders and files)."""
        if not isinstance(value, str) or not value.replace("_", "").isalnum():
            shown = value if not isinstance(value, str) or len(value) <= 80 else value[:80] + "..."
            raise self.fail(fieldname, f"expected a name of letters, digits and '_', got {shown!r}")
        if len(value) > MAX_NAME_CHARS:
            raise self.fail(
                fieldname,
                f"is {len(value):,} characters long; a name has at most {MAX_NAME_CHARS} "
                f"(it becomes part of ids and file names): shorten it",
            )
        return value

    def boolean(self, value: Any, fieldname: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(fieldname, f"expected true or false, got {type(value).__name__} {value!r}")
        return value

    def mapping(self, value: Any, fieldname: str | None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(fieldname, f"expected a mapping, got {type(value).__name__} {value!r}")
        return value

    def interval(self, value: Any, fieldname: str) -> Interval:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise self.fail(fieldname, f"expected an interval [min, max], got {value!r}")
        low = self.number(value[0], f"{fieldname}[0]")
        high = self.number(value[1], f"{fieldname}[1]")
        if low > high:
            raise self.fail(fieldname, f"min {low} is above max {high}; write it as [{high}, {low}]")
        return Interval(low, high)

    def region(self, value: Any, fieldname: str) -> Region:
        """One interval ``[a, b]`` or a list of them ``[[a, b], [c, d]]``."""
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
            intervals = tuple(self.interval(v, f"{fieldname}[{i}]") for i, v in enumerate(value))
        else:
            intervals = (self.interval(value, fieldname),)
        ordered = sorted(intervals, key=lambda i: i.low)
        for a, b in itertools.pairwise(ordered):
            if a.overlaps(b):
                raise self.fail(fieldname, f"intervals {a.as_list()} and {b.as_list()} overlap; merge them")
        return Region(tuple(ordered))

    def value_set(self, value: Any, spec: ParamSpec, fieldname: str) -> ValueSet:
        """A categorical region: a list of the parameter's values (or one value)."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise self.fail(
                fieldname,
                f"{spec.name!r} is categorical: expected a list of its values such as "
                f"[{', '.join(spec.values[:2])}], got {value!r}",
            )
        for item in items:
            if not isinstance(item, str) or item not in spec.values:
                raise self.fail(
                    fieldname,
                    f"{item!r} is not a value of {spec.name!r}{suggest(str(item), spec.values)}; "
                    f"its values are {', '.join(spec.values)}",
                )
        if len(set(items)) != len(items):
            repeated = sorted({i for i in items if items.count(i) > 1})
            raise self.fail(fieldname, f"{', '.join(repeated)} listed twice; list each value once")
        return ValueSet(tuple(items))

    def categorical_value(self, value: Any, spec: ParamSpec, fieldname: str) -> str:
        """One value of a categorical parameter."""
        if not isinstance(value, str) or value not in spec.values:
            raise self.fail(
                fieldname,
                f"{value!r} is not a value of {spec.name!r}{suggest(str(value), spec.values)}; "
                f"its values are {', '.join(spec.values)}",
            )
        return value

    def within_bounds(self, region: Region, spec: ParamSpec, fieldname: str) -> None:
        if region.low < spec.low or region.high > spec.high:
            raise self.fail(
                fieldname,
                f"{region.as_list()} leaves the physical bounds of {spec.name!r} "
                f"[{spec.low}, {spec.high}] {spec.unit}".rstrip()
                + "; keep the region inside them",
            )


def _check_keys(parser: _Parser, data: Mapping[str, Any], allowed: Mapping[str, bool], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise parser.fail(
                f"{where}{key}", f"unknown field{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}"
            )
    for key, required in allowed.items():
        if required and key not in data:
            raise parser.fail(f"{where}{key}", "missing required field")


def _parse_parameters(
    parser: _Parser, raw: Any, specs: Mapping[str, ParamSpec], family: str
) -> tuple[VaryingParameter, ...]:
    raw = parser.mapping(raw, "parameters")
    if not raw:
        raise parser.fail("parameters", "at least one parameter must vary")
    out: dict[str, VaryingParameter] = {}
    for name, entry in raw.items():
        where = f"parameters.{name}"
        if name not in specs:
            raise parser.fail(
                where,
                f"family {family!r} has no parameter {name!r}{suggest(str(name), specs)}"
                f"; its parameters are {', '.join(specs)}",
            )
        entry = parser.mapping(entry, where)
        _check_keys(parser, entry, {"train": True, "extrapolation": False}, f"{where}.")
        if specs[name].categorical:
            out[name] = _parse_categorical(parser, entry, specs[name], where)
        else:
            out[name] = _parse_numeric(parser, entry, specs[name], where)
    order = list(specs)
    return tuple(sorted(out.values(), key=lambda p: order.index(p.name)))


def _parse_numeric(
    parser: _Parser, entry: Mapping[str, Any], spec: ParamSpec, where: str
) -> VaryingParameter:
    """A numeric parameter's train intervals and held-out intervals outside them."""
    train = parser.region(entry["train"], f"{where}.train")
    parser.within_bounds(train, spec, f"{where}.train")
    extrapolation = None
    if entry.get("extrapolation") is not None:
        extrapolation = parser.region(entry["extrapolation"], f"{where}.extrapolation")
        parser.within_bounds(extrapolation, spec, f"{where}.extrapolation")
        for e in extrapolation.intervals:
            for t in train.intervals:
                if e.overlaps(t):
                    raise parser.fail(
                        f"{where}.extrapolation",
                        f"held-out interval {e.as_list()} overlaps the train interval {t.as_list()}; "
                        "held-out regions must lie outside the train region",
                    )
    return VaryingParameter(spec.name, train, extrapolation)


def _parse_categorical(
    parser: _Parser, entry: Mapping[str, Any], spec: ParamSpec, where: str
) -> VaryingParameter:
    """A categorical parameter's train values and held-out values (never trained on)."""
    train = parser.value_set(entry["train"], spec, f"{where}.train")
    extrapolation = None
    if entry.get("extrapolation") is not None:
        extrapolation = parser.value_set(entry["extrapolation"], spec, f"{where}.extrapolation")
        shared = [v for v in extrapolation.values if v in train.values]
        if shared:
            raise parser.fail(
                f"{where}.extrapolation",
                f"{', '.join(shared)} also in the train values; held-out values must not be trained on",
            )
    return VaryingParameter(spec.name, train, extrapolation)


def _parse_combinatorial(
    parser: _Parser, raw: Any, parameters: tuple[VaryingParameter, ...]
) -> dict[str, Interval]:
    if raw is None:
        return {}
    raw = parser.mapping(raw, "combinatorial")
    if not raw:  # what to_dict writes for a spec without one
        return {}
    by_name = {p.name: p for p in parameters}
    box: dict[str, Interval] = {}
    for name, value in raw.items():
        where = f"combinatorial.{name}"
        if name not in by_name:
            raise parser.fail(
                where, f"{name!r} does not vary{suggest(str(name), by_name)}; list varying ones"
            )
        train = by_name[name].train
        if not isinstance(train, Region):
            raise parser.fail(
                where, f"{name!r} is categorical; a combinatorial hold-out is a box of numeric parameters"
            )
        interval = parser.interval(value, where)
        if not any(t.low <= interval.low and interval.high <= t.high for t in train.intervals):
            raise parser.fail(
                where, f"{interval.as_list()} must lie inside one train interval {train.as_list()}"
            )
        if interval.width >= train.measure:
            raise parser.fail(
                where, "covers the whole train region, so its values would never be seen in training"
            )
        box[name] = interval
    if len(box) < 2:
        raise parser.fail("combinatorial", "a combinatorial hold-out needs at least two parameters")
    return box


def _parse_splits(parser: _Parser, raw: Any) -> dict[str, int]:
    raw = parser.mapping(raw, "splits")
    sizes: dict[str, int] = {}
    for key, value in raw.items():
        if key not in SPLIT_NAMES:
            raise parser.fail(f"splits.{key}", f"unknown split{suggest(str(key), SPLIT_NAMES)}")
        sizes[key] = parser.integer(value, f"splits.{key}", 0, MAX_SPLIT_TASKS)
    if sizes.get("train", 0) < 1:
        raise parser.fail("splits.train", "the train split needs at least one task")
    return sizes


def parse_spec(data: Any, source: str = "<memory>") -> TaskSpec:
    """Validate raw spec data (as loaded from YAML) into a :class:`TaskSpec`."""
    parser = _Parser(source)
    data = parser.mapping(data, None)
    _check_keys(parser, data, TOP_LEVEL_KEYS, "")
    family_name, ref, family, block = _parse_family(parser, data)
    specs = {s.name: s for s in family.param_specs()}
    name = parser.name(data["name"])
    context, privileged = _parse_context(parser, data)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise parser.fail("description", "expected a string")
    parameters = _parse_parameters(parser, data["parameters"], specs, family_name)
    fixed = _parse_fixed(parser, data.get("fixed"), specs, parameters)
    combinatorial = _parse_combinatorial(parser, data.get("combinatorial"), parameters)
    sizes = _parse_splits(parser, data["splits"])
    _check_split_feasibility(parser, sizes, parameters, combinatorial)
    protocol = _parse_protocol(parser, data.get("protocol"), family)
    return TaskSpec(
        name=name,
        version=parser.integer(data.get("version", 0), "version", 0),
        family=family_name,
        description=description.strip(),
        seed=parser.integer(data["seed"], "seed", 0),
        max_episode_steps=parser.integer(
            data["max_episode_steps"], "max_episode_steps", 1, MAX_EPISODE_STEPS
        ),
        context=context,
        parameters=parameters,
        fixed=fixed,
        combinatorial=combinatorial,
        split_sizes=sizes,
        privileged_context=privileged,
        protocol=protocol,
        family_ref=ref,
        gymnasium=block,
        source=source,
    )


def _parse_protocol(parser: _Parser, value: Any, family: FamilyClass) -> str | None:
    """A protocol the family defines (``None`` when the spec names none)."""
    if value is None:
        return None
    known = tuple(getattr(family, "protocols", ()))
    if not isinstance(value, str) or value not in known:
        offer = (
            f"; {family.name!r} defines {', '.join(known)}" if known else f"; {family.name!r} defines none"
        )
        raise parser.fail("protocol", f"unknown protocol {value!r}{suggest(str(value), known)}{offer}")
    return value


def _parse_family(
    parser: _Parser, data: Mapping[str, Any]
) -> tuple[str, str | None, FamilyClass, GymnasiumBlock | None]:
    """The family's name, reference (``None`` for a built-in), class and generic block."""
    value = data["family"]
    if value == GENERIC_FAMILY:
        return _parse_generic(parser, data.get(GENERIC_FAMILY))
    if GENERIC_FAMILY in data:
        raise parser.fail(
            GENERIC_FAMILY, f"a '{GENERIC_FAMILY}:' block belongs to family: {GENERIC_FAMILY}; remove one"
        )
    cls, ref = _parse_family_ref(parser, value)
    return cls.name, ref, cls, None


def _parse_generic(parser: _Parser, raw: Any) -> tuple[str, None, FamilyClass, GymnasiumBlock]:
    """The generic family of a ``gymnasium:`` block (built once, to read the defaults)."""
    block = parse_block(raw, parser.source)
    try:
        cls = wrapped_family(block)
    except SpecError as exc:
        raise SpecError(exc.detail, source=parser.source, field=exc.field) from None
    except FamilyError as exc:
        raise parser.fail(f"{GENERIC_FAMILY}.id", str(exc)) from None
    return cls.name, None, cls, block


def _parse_family_ref(parser: _Parser, value: Any) -> tuple[FamilyClass, str | None]:
    """A registered or referenced family and its reference."""
    if not isinstance(value, str):
        raise parser.fail("family", f"expected a family name or 'pkg.module:Class', got {value!r}")
    try:
        if is_family_ref(value):
            return get_family(value), value
        return get_family(value), family_ref(value)
    except UnknownNameError:
        raise parser.fail(
            "family",
            f"unknown family {value!r}{suggest(value, family_names())}; known families: "
            f"{', '.join(family_names())}; a family of your own is registered with "
            "mtml_rl.register_family, an entry point, or written as 'pkg.module:Class'; "
            f"family: {GENERIC_FAMILY} wraps any Gymnasium id",
        ) from None
    except FamilyError as exc:
        raise parser.fail("family", str(exc)) from None


def _parse_context(parser: _Parser, data: Mapping[str, Any]) -> tuple[str, bool]:
    """The default context mode and ``privileged_context`` (which forbids showing it)."""
    context = data.get("context", "hidden")
    if context not in CONTEXT_MODES:
        raise parser.fail(
            "context",
            f"unknown context mode {context!r}{suggest(str(context), CONTEXT_MODES)}; "
            f"use one of {', '.join(CONTEXT_MODES)}",
        )
    privileged = parser.boolean(data.get("privileged_context", True), "privileged_context")
    if not privileged and context != "hidden":
        raise parser.fail(
            "context",
            f"context {context!r} shows the context, but privileged_context is false; "
            "use context: hidden (or set privileged_context: true)",
        )
    return context, privileged


def _parse_fixed(
    parser: _Parser, raw: Any, specs: Mapping[str, ParamSpec], parameters: tuple[VaryingParameter, ...]
) -> dict[str, ParamValue]:
    if raw is None:
        return {}
    raw = parser.mapping(raw, "fixed")
    varying = {p.name for p in parameters}
    fixed: dict[str, ParamValue] = {}
    for name, value in raw.items():
        where = f"fixed.{name}"
        if name not in specs:
            raise parser.fail(
                where, f"unknown parameter{suggest(str(name), specs)}; known: {', '.join(specs)}"
            )
        if name in varying:
            raise parser.fail(where, "this parameter also varies; fix it or vary it, not both")
        if specs[name].categorical:
            fixed[name] = parser.categorical_value(value, specs[name], where)
            continue
        number = parser.number(value, where)
        if not specs[name].contains(number):
            raise parser.fail(
                where, f"{number} is outside the physical bounds [{specs[name].low}, {specs[name].high}]"
            )
        fixed[name] = number
    return fixed


def _check_split_feasibility(
    parser: _Parser,
    sizes: Mapping[str, int],
    parameters: tuple[VaryingParameter, ...],
    combinatorial: Mapping[str, Interval],
) -> None:
    if sizes.get("test-extrapolation", 0) > 0 and not any(p.extrapolation for p in parameters):
        raise parser.fail(
            "splits.test-extrapolation",
            "no parameter has an 'extrapolation' region; add one or set this split's size to 0",
        )
    if sizes.get("test-combinatorial", 0) > 0 and not combinatorial:
        raise parser.fail(
            "splits.test-combinatorial",
            "needs a 'combinatorial' block (a sub-box of two or more varying parameters "
            "held out of training); add one or set this split's size to 0",
        )


# --------------------------------------------------------------------------------------------
# finding specs
# --------------------------------------------------------------------------------------------
def spec_dir() -> Path:
    """The folder of built-in specs: inside the wheel, or ``envs/`` of a source checkout."""
    packaged = Path(__file__).resolve().parent / "builtin"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "envs"


def builtin_spec_files() -> list[Path]:
    """Every built-in spec file (``metaworld/`` and other subfolders included), sorted by path."""
    return sorted(spec_dir().rglob("*.yaml"))


def is_file(path: str | Path) -> bool:
    """:meth:`Path.is_file`, ``False`` for a path the system refuses (too long, say)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: str | Path) -> bool:
    """:meth:`Path.is_dir`, ``False`` for a path the system refuses (too long, say)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def load_spec_file(path: str | Path) -> TaskSpec:
    """Load and validate one spec file.

    The file is read as bytes and refused with one :class:`SpecError` if it is larger than
    :data:`MAX_SPEC_BYTES`, binary or not UTF-8, not valid YAML, nested deeper than
    :data:`mtml_rl.io.MAX_YAML_DEPTH` levels, or repeats a key in a mapping.
    """
    source = str(path) if len(str(path)) <= 300 else str(path)[:300] + "..."
    if not is_file(path):
        if is_dir(path):
            raise SpecError("is a folder, not a spec file; pass a spec .yaml file in it", source=source)
        raise SpecError("no such spec file; pass an existing .yaml path or a registered id", source=source)
    try:
        data = load_yaml_text(read_text_file(path, max_bytes=MAX_SPEC_BYTES))
    except InputFileError as exc:
        raise SpecError(str(exc), source=source) from None
    return parse_spec(data, source=source)


@functools.lru_cache(maxsize=256)
def _load_builtin(path: str, mtime_ns: int) -> TaskSpec:
    """A built-in spec file, cached by path and modification time (specs are immutable).

    The package's own files are parsed with the fast YAML loader (``import mtml_rl`` reads
    every one of them); ``tests/specs/test_builtin_yaml.py`` checks that the strict loader of
    :func:`load_spec_file` reads each the same.
    """
    return parse_spec(load_trusted_yaml(read_text_file(path, max_bytes=MAX_SPEC_BYTES)), source=path)


def builtin_specs() -> dict[str, TaskSpec]:
    """Every built-in spec, by registered id.

    Parsed files are cached (``gym.make`` resolves its id through here), so an edited
    file is parsed again only when its modification time changes.
    """
    specs = {}
    for path in builtin_spec_files():
        spec = _load_builtin(str(path), path.stat().st_mtime_ns)
        specs[spec.id] = spec
    return specs


def resolve_spec(id_or_path: str | Path | TaskSpec) -> TaskSpec:
    """A spec from a registered id (``mtml/CartPole-v0``, ``CartPole``), a file path, or a spec."""
    from mtml_rl.errors import UnknownNameError

    if isinstance(id_or_path, TaskSpec):
        return id_or_path
    text = str(id_or_path)
    if text.endswith((".yaml", ".yml")) or is_file(text):
        return load_spec_file(text)
    text = text.split(":", 1)[1] if text.startswith("mtml_rl:") else text
    specs = builtin_specs()
    aliases = {**specs, **{s.name: s for s in specs.values()}}
    if text in aliases:
        return aliases[text]
    if is_dir(text):  # an id first: a folder named CartPole in the working directory is no spec
        return load_spec_file(text)
    raise UnknownNameError(
        "environment id", text, specs, hint="Run `mtml-rl list` to see them, or pass a path to a spec .yaml."
    )
