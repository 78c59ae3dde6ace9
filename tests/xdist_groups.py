"""Test groups for parallel runs with pytest-xdist (``--dist loadgroup``).

A module- or session-scoped fixture defined under ``tests/`` (a trained run, a benchmark
folder, a Ray cluster) is built once per worker process. Tests that share one are therefore
put in one group, which runs on a single worker: the groups are the connected components of
"uses the same scoped fixture". A test may also name a group itself with
``@pytest.mark.xdist_group("name")`` (all tests that start or join a Ray use ``"ray"``); the
component it belongs to then takes that name. Tests with no scoped fixture and no mark stay
ungrouped and are spread over the workers one by one.

Without xdist the marks added here have no effect.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
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
