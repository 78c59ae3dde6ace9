"""Helpers of the benchmark tests: tiny grids, trial functions that fail, file hashes.

Every trial here trains 1000 steps with one torch thread and a fixed seed and is
evaluated on the 16 interpolation tasks, so a trial takes seconds; the compare report is
written without pictures (:data:`WITH_FIGURES` turns them on where a test looks at them).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtml_rl.benchmark import runner
from mtml_rl.benchmark.backends import OnDone, TrialFn
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.trials import Trial, TrialOutcome, run_trial

CARTPOLE = "mtml/CartPole-v0"
TINY_TRAIN: dict[str, Any] = {
    "n_envs": 4,
    "eval_freq": 0,
    "save_freq": 0,
    "hyperparams": {"n_steps": 64, "batch_size": 128, "n_epochs": 1},
    "adapt_timesteps": 256,
    "adapt_iterations": 2,
    "adapt_epochs": 1,
}
"""TrainConfig fields that keep a trial cheap."""
TINY_EVALUATION: dict[str, Any] = {"splits": ["test-interpolation"], "episodes": 2, "bootstrap_reps": 200}
"""The tiny grids' evaluation settings."""
WITH_FIGURES: dict[str, Any] = {**TINY_EVALUATION, "figures": True}
"""The same, with the report's pictures drawn."""
FAILING_SEED = 1
"""The seed whose trial the failing trial functions break."""
BAD_HYPERPARAMETER = "not_a_ppo_argument"
"""What the failing trial passes to PPO (its error names it)."""


def tiny_grid(out: Path, **fields: Any) -> BenchmarkConfig:
    """A 2-trial grid (CartPole, dr, seeds 0 and 1) at 1000 steps, writing to ``out``."""
    values: dict[str, Any] = {
        "envs": [CARTPOLE],
        "methods": ["dr"],
        "seeds": [0, FAILING_SEED],
        "timesteps": 1000,
        "out": str(out),
        "train": dict(TINY_TRAIN),
        "workers": 2,
        "evaluation": {**TINY_EVALUATION, "figures": False},
    }
    values.update(fields)
    return BenchmarkConfig.from_dict(values, source="test grid")


def trials_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the local backend run its trials one after another in the test's own process.

    For tests of what a benchmark plans, writes and reuses, not of its worker processes
    (``test_benchmark_local.py`` and ``test_method_registry.py`` start real ones): a spawned
    worker imports torch and the package afresh, several CPU-seconds per benchmark run.
    """

    def run_here(
        trials: Sequence[Trial], workers: int, threads: int, trial_fn: TrialFn, on_done: OnDone
    ) -> None:
        for trial in trials:
            on_done(trial, trial_fn(trial))

    monkeypatch.setattr(runner, "run_local", run_here)


def raising_trial(trial: Trial) -> TrialOutcome:
    """:func:`run_trial`, except that the :data:`FAILING_SEED` trial raises inside the worker
    (after its run directory was started)."""
    if trial.seed == FAILING_SEED:
        Path(trial.run_dir).mkdir(parents=True, exist_ok=True)
        (Path(trial.run_dir) / "partial.txt").write_text("a crashed attempt left this\n")
        return run_trial(_broken(trial))
    return run_trial(trial)


def _broken(trial: Trial) -> Trial:
    """The trial with a hyperparameter PPO refuses (found in the worker, when training starts)."""
    config = dict(trial.config)
    config["hyperparams"] = {**config["hyperparams"], BAD_HYPERPARAMETER: 1}
    return Trial(
        trial.name,
        trial.env,
        trial.method,
        trial.seed,
        trial.run_dir,
        trial.eval_dir,
        config,
        trial.evaluation,
    )


def killing_trial(trial: Trial) -> TrialOutcome:
    """:func:`run_trial`, except that the :data:`FAILING_SEED` trial kills its worker process."""
    if trial.seed == FAILING_SEED:
        os._exit(17)
    return run_trial(trial)


def file_state(root: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime (ns) of every file under ``root``, by relative path."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def printed_overrides(output: str) -> Any:
    """The grid ``method_overrides`` entry ``scripts/tune.py`` printed at the end of ``output``."""
    return yaml.safe_load(output.split("as a grid's method_overrides entry:\n")[1])


def without(fields: dict[str, Any], names: Container[str]) -> dict[str, Any]:
    """``fields`` less the entries whose names are in ``names``."""
    return {k: v for k, v in fields.items() if k not in names}
