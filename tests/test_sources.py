"""The source check behind every path that writes out a dependency's code: a function's
digest is the SHA-256 of its source, a property's is its getter's, and code without a source
matches nothing."""

from __future__ import annotations

import hashlib
import inspect

from mtml_rl.sources import has_source, source_digest


class _Written:
    """A class whose members are read as a dependency's would be."""

    def step(self, action: int) -> int:
        return action + 1

    @property
    def dt(self) -> float:
        return 0.05


def test_a_function_and_a_property_are_known_by_their_source() -> None:
    step = hashlib.sha256(inspect.getsource(_Written.step).encode()).hexdigest()
    assert source_digest(_Written.step) == step
    assert has_source(_Written.step, {step, "0" * 64})
    assert not has_source(_Written.step, {"0" * 64})
    getter = inspect.getattr_static(_Written, "dt")
    assert isinstance(getter, property)
    assert source_digest(getter) == hashlib.sha256(inspect.getsource(getter.fget).encode()).hexdigest()  # type: ignore[arg-type]


def test_code_without_a_source_matches_no_digest() -> None:
    assert source_digest(len) is None  # a builtin: no Python source
    assert not has_source(len, {"0" * 64})
