"""Benchmark grids of (spec, method, seed) trials on a process pool or Ray, and the quickstart."""

from __future__ import annotations

from mtml_rl.benchmark.config import BenchmarkConfig, EvalSettings
from mtml_rl.benchmark.runner import BenchmarkResult, run_benchmark
from mtml_rl.benchmark.trials import Trial, TrialOutcome, plan_trials, run_trial

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
