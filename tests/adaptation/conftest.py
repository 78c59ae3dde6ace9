"""Fixtures of the adaptation tests (helpers live in ``adaptation_helpers``)."""

from __future__ import annotations

import pytest
from adaptation_helpers import TinyRun, tiny_run_config

from mtml_rl.training import Run, train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """``tiny_run(method)``: a tiny seeded run of ``method`` (CartPole; Pendulum for a method
    trained only with SAC), trained once per session (the tests only read it)."""
    cache: dict[str, Run] = {}

    def get(method: str) -> Run:
        if method not in cache:
            out = tmp_path_factory.mktemp(f"tiny-{method}") / "run"
            cache[method] = train(tiny_run_config(out, method), progress=False)
        return cache[method]

    return get
