"""Benchmark grids of (spec, method, seed) trials on a process pool or Ray, and the quickstart.

The names below are imported on first use, so that the CLI can build its flags from
:mod:`mtml_rl.benchmark.config` without importing the runner (and torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtml_rl.benchmark.config import BenchmarkConfig, EvalSettings
    from mtml_rl.benchmark.runner import BenchmarkResult, run_benchmark
    from mtml_rl.benchmark.trials import Trial, TrialOutcome, plan_trials, run_trial

_EXPORTS = {
    "BenchmarkConfig": "mtml_rl.benchmark.config",
    "EvalSettings": "mtml_rl.benchmark.config",
    "BenchmarkResult": "mtml_rl.benchmark.runner",
    "run_benchmark": "mtml_rl.benchmark.runner",
    "Trial": "mtml_rl.benchmark.trials",
    "TrialOutcome": "mtml_rl.benchmark.trials",
    "plan_trials": "mtml_rl.benchmark.trials",
    "run_trial": "mtml_rl.benchmark.trials",
}
"""Each public name and the module it is defined in."""


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mtml_rl.benchmark' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "EvalSettings",
    "Trial",
    "TrialOutcome",
    "plan_trials",
    "run_benchmark",
    "run_trial",
]
