"""The edit-test loop's share of an exhaustive parametrization (``make test-fast``).

A test parametrized over every family, spec or method x algorithm can name a representative
subset of its cases::

    @pytest.mark.fast_subset({"numpy_spec_id": "mtml/CartPole-v0"}, {"algo": ("sac", "td3")})

Only the cases that match an entry (every parameter the entry names has that value, or one
of the values of a tuple) run in ``make test-fast``; the root conftest marks the others
``slow``, so ``make test`` and CI still run every case.
"""

from __future__ import annotations

from typing import Any

import pytest


def in_subset(params: dict[str, Any], subset: tuple[dict[str, Any], ...]) -> bool:
    """Whether ``params`` agree with one of ``subset``'s entries on every parameter it names
    (a tuple or list names several allowed values)."""

    def agrees(name: str, wanted: Any) -> bool:
        allowed = wanted if isinstance(wanted, tuple | list) else (wanted,)
        return name in params and params[name] in allowed

    return any(all(agrees(name, wanted) for name, wanted in entry.items()) for entry in subset)


def mark_outside_fast_subset(item: pytest.Item) -> None:
    """``@pytest.mark.fast_subset({"param": value, ...}, ...)``: of a parametrized test, only the
    cases that match one of the entries run in ``make test-fast``; the others are marked
    ``slow`` (``make test`` and CI run them all)."""
    marker = item.get_closest_marker("fast_subset")
    if marker is None:
        return
    callspec = getattr(item, "callspec", None)
    if callspec is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: fast_subset needs a parametrized test and one entry")
    unknown = {name for entry in marker.args for name in entry} - set(callspec.params)
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: fast_subset names no parameter {sorted(unknown)}")
    if not in_subset(callspec.params, marker.args):
        item.add_marker(pytest.mark.slow)
