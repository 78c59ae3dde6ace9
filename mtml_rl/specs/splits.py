"""Held-out splits built deterministically from a spec's seed.

- ``train``: uniform over the train region, minus the combinatorial hold-out box;
- ``test-interpolation``: the same distribution, values never used in training;
- ``test-extrapolation``: one parameter drawn from its held-out region outside the
  train region, the others from their train regions;
- ``test-combinatorial``: every parameter inside the train region but the combination
  inside the held-out box, which training never samples.

A categorical parameter draws its values uniformly from its train values (or, in
``test-extrapolation``, from its held-out values, which training never draws). A family may
reject a combination of values (:class:`~mtml_rl.errors.RejectedTask`): the draw is repeated.
When the spec names a ``protocol:``, the splits it defines hold the family's exact task list
instead of draws; they must lie in the spec's regions of that split.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from mtml_rl.errors import RejectedTask, SpecError, UnknownNameError
from mtml_rl.specs.spec import SPLIT_NAMES, TaskSpec
from mtml_rl.tasks.params import ParamValue
from mtml_rl.tasks.protocol import ProtocolQuery
from mtml_rl.tasks.regions import Region, ValueSet
from mtml_rl.tasks.task import Task

Values = dict[str, ParamValue]
"""The varying parameters' values of one drawn task."""

Drawer = Callable[[TaskSpec, np.random.Generator], Values | None]
"""Draws one task's varying values from a region of a spec (``None``: the draw fell outside it)."""
_MAX_DRAWS_PER_TASK = 1000
TEST_SPLITS = SPLIT_NAMES[1:]
TEST_UNION = "test"
"""The name of every test split together (:class:`Splits` answers to it)."""
SPLIT_NAMES_AND_UNION = (*SPLIT_NAMES, TEST_UNION)
"""Every name a split of a spec can be asked for: its own splits' and :data:`TEST_UNION`."""


@dataclass(frozen=True)
class Split:
    """A fixed list of tasks with a hash recorded in every result.

    :param name: the split's name (``train``, ``test-interpolation`` ...)
    :param tasks: the tasks, in a fixed order
    """

    name: str
    tasks: tuple[Task, ...]

    @property
    def hash(self) -> str:
        """Hash of the split's name and task ids (16 hex digits)."""
        text = json.dumps([self.name, [t.id for t in self.tasks]])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)


class Splits(Mapping[str, Split]):
    """The splits of one spec, by name. ``"test"`` (:data:`TEST_UNION`) is the union of every
    test split."""

    def __init__(self, spec: TaskSpec, splits: dict[str, Split]) -> None:
        self.spec = spec
        self._splits = splits

    def __getitem__(self, name: str) -> Split:
        if name == TEST_UNION:
            tasks = tuple(t for s in TEST_SPLITS if s in self._splits for t in self._splits[s].tasks)
            return Split(TEST_UNION, tasks)
        if name not in self._splits:
            raise UnknownNameError(
                f"split of {self.spec.id}",
                name,
                [*self._splits, TEST_UNION],
                hint="Splits with size 0 in the spec are absent.",
            )
        return self._splits[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._splits)

    def __len__(self) -> int:
        return len(self._splits)

    def hashes(self) -> dict[str, str]:
        """Every split's hash, by name."""
        return {name: split.hash for name, split in self._splits.items()}


def _in_box(values: Mapping[str, ParamValue], spec: TaskSpec) -> bool:
    box = spec.combinatorial
    return bool(box) and all(box[k].contains(float(values[k])) for k in box)


def _draw_train_region(spec: TaskSpec, rng: np.random.Generator) -> Values:
    return {p.name: p.train.sample(rng) for p in spec.parameters}


def _draw_train(spec: TaskSpec, rng: np.random.Generator) -> Values | None:
    values = _draw_train_region(spec, rng)
    return None if _in_box(values, spec) else values


def _draw_extrapolation(spec: TaskSpec, rng: np.random.Generator) -> Values | None:
    values = _draw_train_region(spec, rng)
    held = [p for p in spec.parameters if p.extrapolation is not None]
    chosen = held[int(rng.integers(len(held)))]
    assert chosen.extrapolation is not None
    value = chosen.extrapolation.sample(rng)
    if _contains(chosen.train, value):  # only on a shared end point
        return None
    values[chosen.name] = value
    return values


def _draw_combinatorial(spec: TaskSpec, rng: np.random.Generator) -> Values | None:
    values = _draw_train_region(spec, rng)
    for name, interval in spec.combinatorial.items():
        values[name] = float(rng.uniform(interval.low, interval.high))
    return values


_DRAWERS: dict[str, Drawer] = {
    "train": _draw_train,
    "test-interpolation": _draw_train,
    "test-extrapolation": _draw_extrapolation,
    "test-combinatorial": _draw_combinatorial,
}


def _build_split(spec: TaskSpec, name: str, seen: set[Task]) -> Split:
    protocol = _protocol_split(spec, name, seen)
    if protocol is not None:
        return protocol
    size = spec.split_sizes.get(name, 0)
    rng = np.random.default_rng([spec.seed, SPLIT_NAMES.index(name)])
    tasks = _draw_distinct(spec, _DRAWERS[name], rng, size, seen)
    if tasks is None:
        raise SpecError(
            f"could not draw {size} distinct tasks for split {name!r}; widen its region or lower its size",
            source=spec.source,
            field=f"splits.{name}",
        )
    return Split(name, tuple(tasks))


def _draw_distinct(
    spec: TaskSpec, draw: Drawer, rng: np.random.Generator, size: int, seen: set[Task]
) -> list[Task] | None:
    """``size`` tasks from ``draw``, none in ``seen`` nor twice (each added to ``seen``), or
    ``None`` if :data:`_MAX_DRAWS_PER_TASK` draws per task did not find them. A draw outside the
    region, or of values the family rejects (:class:`RejectedTask`), is repeated."""
    tasks: list[Task] = []
    for _ in range(_MAX_DRAWS_PER_TASK * max(size, 1)):
        if len(tasks) == size:
            return tasks
        values = draw(spec, rng)
        if values is None:
            continue
        try:
            task = spec.family_cls.task({**spec.fixed, **values})
        except RejectedTask:
            continue
        if task not in seen:
            seen.add(task)
            tasks.append(task)
    return tasks if len(tasks) == size else None


def protocol_query(spec: TaskSpec, name: str) -> ProtocolQuery | None:
    """What the family is asked for split ``name`` of a spec with a protocol (``None``: no
    protocol)."""
    if spec.protocol is None:
        return None
    return ProtocolQuery(
        protocol=spec.protocol,
        split=name,
        size=spec.split_sizes.get(name, 0),
        seed=spec.seed,
        fixed=dict(spec.fixed),
        train_values={p.name: _names(p.train) for p in spec.categorical},
        held_out_values={p.name: _names(p.extrapolation) for p in spec.categorical},
    )


def _names(region: Region | ValueSet | None) -> tuple[str, ...]:
    return region.values if isinstance(region, ValueSet) else ()


def _protocol_split(spec: TaskSpec, name: str, seen: set[Task]) -> Split | None:
    """The family's task list of split ``name`` under the spec's protocol (``None``: drawn)."""
    query = protocol_query(spec, name)
    if query is None:
        return None
    listed = spec.family_cls.protocol_tasks(query)
    if listed is None:
        return None
    where = f"splits.{name}"
    tasks = []
    for values in listed:
        if not _in_regions(spec, name, values):
            raise SpecError(
                f"protocol {spec.protocol!r} lists a task outside this split's regions ({values}); "
                "make the regions cover the protocol's tasks",
                source=spec.source,
                field=where,
            )
        task = spec.family_cls.task({**spec.fixed, **values})
        if task in seen:
            raise SpecError(f"protocol task {task.short()} is in two splits", source=spec.source, field=where)
        seen.add(task)
        tasks.append(task)
    return Split(name, tuple(tasks))


def _in_regions(spec: TaskSpec, split: str, values: Mapping[str, ParamValue]) -> bool:
    """Whether protocol values lie in the regions of ``split``: train regions, except that in
    ``test-extrapolation`` a parameter may take a held-out value instead."""
    for p in spec.parameters:
        value = values.get(p.name)
        if value is None:
            return False
        held = p.extrapolation if split == "test-extrapolation" else None
        if not _contains(p.train, value) and not (held is not None and _contains(held, value)):
            return False
    return True


def _contains(region: Region | ValueSet, value: ParamValue) -> bool:
    """Whether a region holds a value (a number in intervals, a name in a set of values)."""
    if isinstance(region, ValueSet):
        return region.contains(value)
    return not isinstance(value, str) and region.contains(float(value))


_CACHE: dict[str, Splits] = {}


def build_splits(spec: TaskSpec) -> Splits:
    """Build every non-empty split of ``spec``; disjoint by construction and deterministic.

    Results are cached by the spec's id and content hash (the splits are a pure function of
    the hash; the id keeps each spec's own name in messages).
    """
    key = f"{spec.id} {spec.content_hash()}"
    if key not in _CACHE:
        _CACHE[key] = _build_all(spec)
    return _CACHE[key]


def _build_all(spec: TaskSpec) -> Splits:
    seen: set[Task] = set()
    splits = {}
    for name in SPLIT_NAMES:
        if spec.split_sizes.get(name, 0) > 0:
            splits[name] = _build_split(spec, name, seen)
    return Splits(spec, splits)


def validation_tasks(spec: TaskSpec, size: int, seed: int) -> list[Task]:
    """``size`` fresh tasks drawn as the train split's are (the train region minus the
    combinatorial box), from a random stream of their own, none of them in any split.

    For choosing between variants of a method without looking at a test split: a validation
    draw scores how well a method generalizes inside the train region on tasks it never saw.

    :param spec: the spec
    :param size: how many tasks
    :param seed: seed of the draw (different seeds give different tasks)
    """
    if size < 1:
        raise ValueError(f"validation tasks: size must be at least 1, got {size}")
    if spec.protocol is not None:
        raise SpecError(
            f"{spec.id} defines its tasks by a protocol; a validation draw needs a spec with "
            "parameter regions (draw from the train split instead)",
            source=spec.source,
        )
    seen = {task for split in build_splits(spec).values() for task in split.tasks}
    rng = np.random.default_rng([spec.seed, len(SPLIT_NAMES), seed])
    tasks = _draw_distinct(spec, _draw_train, rng, size, seen)
    if tasks is None:
        raise SpecError(
            f"could not draw {size} validation tasks outside every split: the train region has "
            "too few distinct tasks left (a region of single points, such as a direction of -1 "
            "or +1, has none once the splits hold them); lower the size or widen the region",
            source=spec.source,
        )
    return tasks
