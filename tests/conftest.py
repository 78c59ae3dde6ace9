"""Shared fixtures: the built-in numpy-family spec ids and spec files with one change.

A test that takes an argument called ``numpy_spec_id`` runs once for every built-in spec
whose family is a numpy :class:`~mtml_rl.families.base.Family` (MuJoCo families are
tested under ``tests/sim``).

Parallel runs (``pytest -n 2 --dist loadgroup``, as ``make test`` does): every worker uses
one CPU thread, and tests that share a module- or session-scoped fixture of this folder run
on one worker (see :mod:`xdist_groups`), so that a trained fixture is built once.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported: one thread per worker

import copy
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fast_subset import mark_outside_fast_subset
from xdist_groups import assign_groups, load_durations, order_for_workers

REPO_ROOT = Path(__file__).resolve().parent.parent
CARTPOLE_SPEC_FILE = REPO_ROOT / "envs" / "CartPole.yaml"

SpecChange = Callable[[dict[str, Any]], None]
"""Edits raw spec data (as loaded from YAML) in place."""


@functools.cache
def numpy_spec_ids() -> tuple[str, ...]:
    """Sorted ids of the built-in specs whose family is a numpy :class:`Family`.

    Read on first use, during collection: the process that only hands tests to xdist
    workers never imports the package (nor torch)."""
    import mtml_rl
    from mtml_rl.families.base import Family

    ids = []
    for spec_id, spec in sorted(mtml_rl.builtin_specs().items()):
        family = spec.family_cls
        if isinstance(family, type) and issubclass(family, Family):
            ids.append(spec_id)
    return tuple(ids)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` the cases a ``fast_subset`` leaves out; group the tests that share an
    expensive fixture for ``--dist loadgroup`` and hand out the longest first; one torch
    thread in every process that runs tests."""
    import torch as th

    th.set_num_threads(1)
    for item in items:
        mark_outside_fast_subset(item)
    assign_groups(items)
    order_for_workers(items, load_durations())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every ``numpy_spec_id`` argument over :func:`numpy_spec_ids`."""
    if "numpy_spec_id" in metafunc.fixturenames:
        metafunc.parametrize("numpy_spec_id", numpy_spec_ids())


@pytest.fixture(scope="session")
def spec_ids() -> list[str]:
    """Sorted ids of the built-in numpy-family specs."""
    return list(numpy_spec_ids())


@pytest.fixture
def cartpole_data() -> dict[str, Any]:
    """A fresh copy of ``envs/CartPole.yaml`` as plain data."""
    data: dict[str, Any] = yaml.safe_load(CARTPOLE_SPEC_FILE.read_text())
    return data


@pytest.fixture
def spec_file(tmp_path: Path, cartpole_data: dict[str, Any]) -> Callable[..., Path]:
    """A factory: ``spec_file(change, name="spec.yaml")`` writes ``envs/CartPole.yaml`` with
    ``change`` applied to a copy of its data into ``tmp_path`` and returns the path."""

    def write(change: SpecChange | None = None, name: str = "spec.yaml") -> Path:
        data = copy.deepcopy(cartpole_data)
        if change is not None:
            change(data)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture(autouse=True)
def _restore_gym_registry() -> Iterator[None]:
    """Undo any registration a test makes, so that tests cannot leak ids into each other.

    The built-in ids stay: ``import mtml_rl`` registers them once, so a test that is the
    first in its process to import the package must not take them away from later tests.
    """
    import gymnasium as gym

    imported_before = "mtml_rl" in sys.modules
    before = dict(gym.registry)
    yield
    for env_id in set(gym.registry) - set(before):
        del gym.registry[env_id]
    gym.registry.update(before)
    if not imported_before and "mtml_rl" in sys.modules:
        sys.modules["mtml_rl"].register_builtin()
