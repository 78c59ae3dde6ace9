"""Test groups for parallel runs with pytest-xdist (``--dist loadgroup``).

A module- or session-scoped fixture defined under ``tests/`` (a trained run, a benchmark
folder, a Ray cluster) is built once per worker process. Tests that share one are therefore
put in one group, which runs on a single worker: the groups are the connected components of
"uses the same scoped fixture". A test may also name a group itself with
``@pytest.mark.xdist_group("name")`` (all tests that start or join a Ray use ``"ray"``); the
component it belongs to then takes that name. Tests with no scoped fixture and no mark stay
ungrouped and are spread over the workers one by one.

xdist hands these work units (a group, or one ungrouped test) to whichever worker asks next,
in collection order when run with ``--no-loadscope-reorder`` (as ``make test`` does).
:func:`order_for_workers` sorts the units by their expected time, longest first (the
"longest processing time first" rule), so that the quick tests fill the end and no worker is
left with a half-minute test while the other has finished. Expected times come from
``tests/durations.json`` (seconds per test, written by ``scripts/record_test_durations.py``);
a test it does not list counts :data:`UNLISTED_SLOW` seconds if marked slow, else
:data:`UNLISTED_QUICK`.

Without xdist the marks added here have no effect, and the order only changes which test
runs when.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
DURATIONS_FILE = TESTS / "durations.json"
"""Seconds per test (setup, call and teardown) of a recorded run, keyed by node id."""
UNLISTED_SLOW = 2.0
"""Expected seconds of a test marked slow that the durations file does not list."""
UNLISTED_QUICK = 0.05
"""Expected seconds of any other test the durations file does not list."""
CHEAP_FIXTURES = frozenset({"spec_ids"})
"""Scoped fixtures that cost nothing to build again; they do not tie tests together."""


class _Components:
    """Union-find over string keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _defined_under(func: object, root: Path) -> bool:
    try:
        source = inspect.getsourcefile(func)  # type: ignore[arg-type]
    except TypeError:
        return False
    return source is not None and Path(source).resolve().is_relative_to(root)


def _scoped_fixtures(item: pytest.Item, root: Path) -> list[str]:
    """Keys of the module- or session-scoped fixtures defined under ``root`` that ``item`` uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    keys = []
    for name in info.names_closure:
        definitions = info.name2fixturedefs.get(name)
        if not definitions or name in CHEAP_FIXTURES:
            continue
        fixture = definitions[-1]
        if fixture.scope in ("module", "session") and _defined_under(fixture.func, root):
            where = item.module.__name__ if fixture.scope == "module" else fixture.baseid
            keys.append(f"fixture:{where}:{name}")
    return keys


def _explicit_group(item: pytest.Item) -> str | None:
    names = {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }
    if len(names) > 1:
        raise pytest.UsageError(f"{item.nodeid} names more than one xdist_group: {sorted(names)}")
    return names.pop() if names else None


def _group_names(components: _Components, keys: dict[str, list[str]]) -> dict[str, str]:
    """The name of each component that holds an explicit group: that group's name."""
    names: dict[str, str] = {}
    for item_keys in keys.values():
        for key in item_keys:
            if key.startswith("group:"):
                name, top = key.removeprefix("group:"), components.find(key)
                if names.setdefault(top, name) != name:
                    raise pytest.UsageError(f"xdist groups {names[top]!r} and {name!r} share a fixture")
    return names


def _unit(item: pytest.Item) -> str:
    """The work unit xdist's ``loadgroup`` hands out whole: the test's group, or the test itself."""
    group = _explicit_group(item)
    return f"group:{group}" if group is not None else f"test:{item.nodeid}"


def load_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """The recorded seconds per test node id; empty if the file is missing.

    :raises pytest.UsageError: the file is not a recorded durations file.
    """
    if not path.is_file():
        return {}
    try:
        seconds = json.loads(path.read_text())["seconds"]
        return {str(nodeid): float(value) for nodeid, value in seconds.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise pytest.UsageError(
            f"{path} is not a durations file ({error}); record it again with "
            "python scripts/record_test_durations.py"
        ) from None


def order_for_workers(items: list[pytest.Item], seconds: Mapping[str, float]) -> None:
    """Sort ``items`` in place by work unit, the unit of the most expected seconds first.

    A unit's expected time is the sum over its tests of ``seconds`` (a test not listed there
    counts :data:`UNLISTED_SLOW` if marked slow, else :data:`UNLISTED_QUICK`); units of equal
    time keep their collection order. Each unit's tests stay together and in their order, so
    a module's fixtures are built as often as before. Call after :func:`assign_groups` and
    after the ``slow`` marks are set.

    :param items: the collected tests, reordered in place.
    :param seconds: expected seconds per test node id (:func:`load_durations`).
    """
    units: dict[str, list[int]] = {}
    cost: dict[str, float] = {}
    for index, item in enumerate(items):
        unit = _unit(item)
        units.setdefault(unit, []).append(index)
        unlisted = UNLISTED_SLOW if item.get_closest_marker("slow") is not None else UNLISTED_QUICK
        cost[unit] = cost.get(unit, 0.0) + seconds.get(item.nodeid, unlisted)
    ordered = sorted(units, key=lambda unit: (-cost[unit], units[unit][0]))
    items[:] = [items[index] for unit in ordered for index in units[unit]]


def assign_groups(items: list[pytest.Item], root: Path = TESTS) -> None:
    """Mark every test that uses a scoped fixture defined under ``root`` (or joins one that
    does through a shared fixture or an explicit group) with its component's group.

    :param items: the collected tests, marked in place.
    :param root: the folder whose fixtures count (``tests/``).
    :raises pytest.UsageError: a test names two groups, or two named groups share a fixture.
    """
    components = _Components()
    keys: dict[str, list[str]] = {}
    for item in items:
        explicit = _explicit_group(item)
        keys[item.nodeid] = _scoped_fixtures(item, root) + ([f"group:{explicit}"] if explicit else [])
        for key in keys[item.nodeid][1:]:
            components.union(keys[item.nodeid][0], key)
    names = _group_names(components, keys)
    for item in items:
        if keys[item.nodeid] and _explicit_group(item) is None:
            top = components.find(keys[item.nodeid][0])
            item.add_marker(pytest.mark.xdist_group(names.get(top, top.split(":", 1)[1])))
