"""Fixtures of the evaluation tests: tiny trained runs and one full evaluation, made once."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_helpers import Evaluated, small_eval, tiny_config

from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.training.train import train


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny CartPole runs of ``oracle``, ``dr`` and ``adapt`` (trained once per session)."""
    root = tmp_path_factory.mktemp("eval-runs")
    out = {}
    for method in ("oracle", "dr", "adapt"):
        train(tiny_config(root / method, method), progress=False)
        out[method] = root / method
    return out


@pytest.fixture(scope="session")
def evaluated(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    """``evaluate`` of the three runs with a 3 x 3 grid over length x actuator_gain."""
    out = tmp_path_factory.mktemp("eval-out") / "evaluation"
    config = small_eval(grid=("length", "actuator_gain"), grid_size=3)
    results, folder = evaluate([runs["oracle"], runs["dr"], runs["adapt"]], config, out)
    return Evaluated(results, folder)
