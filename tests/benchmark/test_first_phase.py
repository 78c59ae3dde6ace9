"""A grid with ``oracle`` and ``adapt`` trains the oracle's policy once: ``adapt``'s phase 1 is
the oracle's training step for step (:attr:`~mtml_rl.training.method.Method.first_phase`), so
the oracle's trial deploys ``adapt``'s run, and its evaluation is the one a run of its own
gets, episode for episode (PPO with normalized observations, and SAC). Where the two trials'
phase 1 would differ, the oracle trains its own run."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_helpers import TINY_TRAIN, tiny_grid, trials_in_this_process

from mtml_rl.agents.policy import PolicyAgent
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.runner import estimated_cost, run_benchmark
from mtml_rl.benchmark.trials import plan_trials
from mtml_rl.errors import ConfigError
from mtml_rl.training import Run

pytestmark = pytest.mark.slow

SAC_TRAIN: dict[str, Any] = {
    **TINY_TRAIN,
    "algo": "sac",
    "hyperparams": {
        "learning_starts": 64,
        "batch_size": 32,
        "buffer_size": 1000,
        "policy_kwargs": {"net_arch": [16]},
    },
}
"""A few hundred cheap SAC steps."""
CASES = {
    "ppo-normalized": {"envs": ["mtml/MountainCarContinuous-v0"]},
    "sac": {"envs": ["mtml/Pendulum-v0"], "train": SAC_TRAIN, "timesteps": 300},
}
"""Grids whose oracle is compared with a run of its own: PPO with ``VecNormalize`` (which
normalizes ``adapt``'s history window beside the observations) and SAC."""


def phase_grid(out: Path, **fields: Any) -> BenchmarkConfig:
    """CartPole (unless ``fields`` say otherwise), ``oracle`` and ``adapt``, seed 0."""
    return tiny_grid(out, **{"methods": ["oracle", "adapt"], "seeds": [0], **fields})


def test_the_oracle_plans_to_deploy_adapts_run(tmp_path: Path) -> None:
    oracle, adapt = plan_trials(phase_grid(tmp_path))
    assert (oracle.trained_by, oracle.run_dir, oracle.run_config) == (adapt.name, adapt.run_dir, adapt.config)
    assert oracle.deployment == {"method": "oracle", "fields": {}}
    assert adapt.trained_by is None and adapt.run_dir.endswith("CartPole-adapt-s0")
    assert estimated_cost(oracle) == 0, "its evaluation only"


def test_settings_of_phase_two_leave_the_oracle_on_adapts_run(tmp_path: Path) -> None:
    later = {"adapt_timesteps": 512, "adapt_epochs": 2, "history_len": 8, "adapt_probe_steps": 4}
    oracle, adapt = plan_trials(phase_grid(tmp_path, method_overrides={"adapt": later}))
    assert oracle.trained_by == adapt.name


@pytest.mark.parametrize(
    "adapt_only",
    [
        {"trial_episodes": 2},
        {"timesteps": 2000},
        {"hyperparams": {**TINY_TRAIN["hyperparams"], "n_epochs": 2}},
    ],
    ids=["trials", "budget", "hyperparameters"],
)
def test_the_oracle_trains_its_own_run_where_adapts_phase_one_differs(
    tmp_path: Path, adapt_only: dict[str, Any]
) -> None:
    oracle, _ = plan_trials(phase_grid(tmp_path, method_overrides={"adapt": adapt_only}))
    assert oracle.trained_by is None and oracle.run_dir.endswith("CartPole-oracle-s0")


def _episodes(out: Path) -> list[tuple[str, str, str]]:
    with open(out / "eval" / f"{_spec_name(out)}-oracle-s0" / "results.csv", newline="") as handle:
        return [(r["task_id"], r["episode"], r["return"]) for r in csv.DictReader(handle)]


def _spec_name(out: Path) -> str:
    (run,) = (out / "runs").iterdir()
    return run.name.rsplit("-", 2)[0]


@pytest.mark.parametrize("case", list(CASES))
def test_the_deployed_oracle_plays_as_a_run_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    trials_in_this_process(monkeypatch)
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    result = run_benchmark(phase_grid(shared, **CASES[case]), progress=False)
    assert result.ok and result.comparison is not None
    assert run_benchmark(phase_grid(alone, **CASES[case], methods=["oracle"]), progress=False).ok
    assert [p.name.rsplit("-", 2)[1] for p in (shared / "runs").iterdir()] == ["adapt"]
    assert _episodes(alone) and _episodes(shared) == _episodes(alone), "the same episodes, return for return"
    name = _spec_name(shared)
    (record,) = json.loads((shared / "eval" / f"{name}-oracle-s0" / "results.json").read_text())["runs"]
    assert (record["method"], record["trained_as"], record["privileged"]) == ("oracle", "adapt", True)
    note = f"{record['spec']}: oracle (privileged) deploys 1 run(s) trained as adapt, whose first phase is"
    assert note in result.comparison.report.read_text()


def test_an_adapt_run_deploys_as_the_oracle_in_its_own_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)
    assert run_benchmark(phase_grid(tmp_path, methods=["adapt"]), progress=False).ok
    run = Run.load(tmp_path / "runs" / "CartPole-adapt-s0")
    oracle = run.deployed_as("oracle")
    assert (oracle.method.name, oracle.training_method.name, oracle.trained_as) == (
        "oracle",
        "adapt",
        "adapt",
    )
    agent = PolicyAgent(oracle)
    assert agent.privileged and agent.requirements.history_len == run.config.history_len > 0
    with pytest.raises(ConfigError, match=r"cannot be deployed as dr.*whose training it holds \(oracle\)"):
        run.deployed_as("dr")
    assert oracle.deployed_as("adapt").trained_as is None, "back as trained"
