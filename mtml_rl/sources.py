"""Whether installed code is the code a module of this package writes out.

A few modules compute what a dependency's function computes, in another way (LunarLander's
step on Python floats, the MuJoCo steps cut around their physics, Meta-World environments
built from a compiled model's copy, ``rl2``'s LSTM over a batch in one call, ``pearl``'s
critic with detached features). Each takes its own path only where
the installed function has the source it was written from, by the SHA-256 of
``inspect.getsource``; elsewhere the dependency's own function runs, slower and right.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Collection
from typing import Any


def source_digest(function: Any) -> str | None:
    """SHA-256 (hex) of ``function``'s source (a property: its getter's), or ``None`` where it
    has no source to read (e.g. only compiled files installed)."""
    if isinstance(function, property):
        function = function.fget
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


def has_source(function: Any, digests: Collection[str]) -> bool:
    """Whether ``function``'s source has one of ``digests`` (:func:`source_digest`)."""
    digest = source_digest(function)
    return digest is not None and digest in digests
