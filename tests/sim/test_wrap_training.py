"""Every method trains, deploys and evaluates on the generic family's example specs.

``dr``, ``oracle`` and ``adapt`` train a couple of thousand steps on MountainCar-v0
(discrete) and InvertedPendulum-v5 (MuJoCo, pole mass) from the shipped example specs,
then ``mtml-rl evaluate`` scores them (``oracle`` normalizes); ``history``, ``rl2`` and
``finetune`` train and act on MountainCar. Budgets are tiny: these tests check the
plumbing, not learning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtml_rl.agents.finetune import FinetuneAgent
from mtml_rl.agents.loading import load_agent
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.cli.main import main as cli_main
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig, train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
SPECS = {
    "mountaincar": EXAMPLES / "MountainCarForce.yaml",
    "pendulum": EXAMPLES / "InvertedPendulumPoleMass.yaml",
}
METHODS = ("dr", "oracle", "adapt")
TINY_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 1}


def tiny_config(out: Path, spec: Path, method: str, **fields: Any) -> TrainConfig:
    """A cheap seeded one-thread config: 2048 steps on 4 slots, phase 2 of 400 steps."""
    values: dict[str, Any] = {
        "env": str(spec),
        "method": method,
        "timesteps": 2048,
        "n_envs": 4,
        "seed": 0,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": dict(TINY_PPO),
        "history_len": 8,
        "adapt_timesteps": 400,
        "adapt_iterations": 2,
        "adapt_epochs": 1,
    }
    return TrainConfig(**{**values, **fields})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    """dr, oracle and adapt on both example specs, trained once."""
    root = tmp_path_factory.mktemp("wrap-runs")
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # MuJoCo's MUJOCO_LOG.TXT stays out of the checkout
        for (name, spec), method in [(s, m) for s in SPECS.items() for m in METHODS]:
            out[name, method] = train(tiny_config(root / f"{name}-{method}", spec, method), progress=False)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_and_deploys(runs: dict[tuple[str, str], Run], name: str, method: str) -> None:
    run = runs[name, method]
    assert run.model.num_timesteps == 2048
    agent = load_agent(run.path)
    assert isinstance(agent, AdaptAgent) == (method == "adapt")
    tasks = list(build_splits(run.spec)["test-extrapolation"].tasks[:2])
    episodes = rollout_agent(agent, run.spec, tasks, trials=1, seed=0)
    assert len(episodes) == 2
    assert all(0 < e.length <= run.spec.max_episode_steps and np.isfinite(e.ret) for e in episodes)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
def test_evaluate_scores_the_methods_against_the_oracle(
    runs: dict[tuple[str, str], Run], name: str, tmp_path: Path
) -> None:
    paths = [str(runs[name, m].path) for m in METHODS]
    out = tmp_path / "evaluation"
    args = ["evaluate", *paths, "--split", "test-interpolation", "--episodes", "1", "--bootstrap-reps", "50"]
    assert cli_main([*args, "--quiet", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert {t["reference_source"] for t in results["tasks"]} == {"oracle"}
    assert {a["label"] for a in results["aggregates"]} >= {"dr", "adapt"}
    assert len(results["episodes"]) == 3 * len(results["tasks"]) == 3 * 8


@pytest.mark.slow
@pytest.mark.parametrize("method", ["history", "rl2", "finetune"])
def test_the_other_methods_train_and_act_on_discrete_mountaincar(method: str, tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path / method, SPECS["mountaincar"], method, timesteps=1024, finetune_timesteps=1024
    )
    run = train(config, progress=False)
    agent = load_agent(run.path)
    task = build_splits(run.spec)["test-interpolation"].tasks[0]
    if isinstance(agent, FinetuneAgent):
        agent.adapt(run.spec, task, seed=0)
        assert agent.current is not None and agent.current.model.num_timesteps == 1024
    trial = run.config.trial_episodes or 1
    episodes = rollout_agent(agent, run.spec, [task], trials=1, trial_episodes=trial, seed=0)
    assert len(episodes) == trial
    assert all(0 < e.length <= 200 and np.isfinite(e.ret) for e in episodes)
