"""A grid whose value of a deployment-only field changes (``adapt``'s ``adapt_probe_steps``,
``finetune``'s budget) evaluates its finished runs again with the new value instead of
training them again: the field acts only when the run is deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_helpers import file_state, tiny_grid, trials_in_this_process

from mtml_rl.benchmark.runner import run_benchmark
from mtml_rl.benchmark.trials import plan_trials
from mtml_rl.evaluation.results import load_results

pytestmark = pytest.mark.slow


def adapt_grid(out: Path, probe: int) -> Any:
    """``adapt`` alone on CartPole, seed 0, deployed with a ``probe``-step probe."""
    return tiny_grid(
        out,
        methods=["adapt"],
        seeds=[0],
        method_overrides={
            "adapt": {"adapt_timesteps": 256, "adapt_iterations": 2, "adapt_probe_steps": probe}
        },
    )


def test_a_trial_deploys_its_own_run_with_its_deployment_fields(tmp_path: Path) -> None:
    (adapt,) = plan_trials(adapt_grid(tmp_path, 4))
    assert adapt.trained_by is None
    assert adapt.deployment == {"method": "adapt", "fields": {"adapt_probe_steps": 4}}
    (dr,) = plan_trials(tiny_grid(tmp_path, seeds=[0]))
    assert dr.deployment is None  # a method without deployment fields: as trained


def test_a_changed_probe_is_evaluated_again_not_trained_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)
    out = tmp_path / "grid"
    first = run_benchmark(adapt_grid(out, 0), progress=False)
    assert first.ok and first.ran == ["CartPole-adapt-s0"]
    run_dir, eval_dir = out / "runs" / "CartPole-adapt-s0", out / "eval" / "CartPole-adapt-s0"
    trained = file_state(run_dir)
    assert load_results(eval_dir).runs[0].deployment == {"adapt_probe_steps": 0}

    second = run_benchmark(adapt_grid(out, 4), progress=False)
    assert second.ok
    assert file_state(run_dir) == trained, "the run is not trained again"
    assert load_results(eval_dir).runs[0].deployment == {"adapt_probe_steps": 4}
    marker = json.loads((eval_dir / "benchmark.json").read_text())
    assert marker["deployment"] == {"method": "adapt", "fields": {"adapt_probe_steps": 4}}
