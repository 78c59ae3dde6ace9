"""Trials: ``adapt`` trains phase 2 and deploys with the run's trial length.

By default the history window restarts with every episode (zero-shot, within-episode
adaptation); with ``trial_episodes=K`` phase 1, phase 2 and deployment all keep the task
and carry the window over K consecutive episodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from adaptation_helpers import TinyRun, deployed_agent, tiny_config

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule
from mtml_rl.adaptation.phase2 import split_latent_error
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training.run import EVAL_SEED
from mtml_rl.training.train import train


def _phase2_settings(path: Path) -> dict[str, int]:
    settings: dict[str, int] = json.loads((path / "final" / "adaptation.json").read_text())["phase2"]
    return settings


def test_history_restarts_with_every_episode_by_default(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    agent = deployed_agent(run)
    assert isinstance(agent, AdaptAgent)
    assert agent.trial_episodes == 1
    assert _phase2_settings(run.path)["trial_episodes"] == 1


@pytest.mark.slow
def test_trial_runs_train_and_deploy_over_whole_trials(tmp_path: Path) -> None:
    run = train(tiny_config(tmp_path / "run", "adapt", trial_episodes=2), progress=False)
    assert _phase2_settings(run.path)["trial_episodes"] == 2
    agent = deployed_agent(run)
    assert isinstance(agent, AdaptAgent)
    assert agent.trial_episodes == 2
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks[:3])
    episodes = rollout_agent(agent, run.spec, tasks, trials=2, trial_episodes=agent.trial_episodes, seed=0)
    for task in tasks:
        mine = [(e.trial, e.episode) for e in episodes if e.task == task]
        assert sorted(mine) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert np.isfinite([e.ret for e in episodes]).all()


@pytest.mark.slow
def test_the_reported_latent_errors_are_each_splits_own_rollouts(tiny_run: TinyRun) -> None:
    """``adaptation.json`` measures all splits in one batched rollout; each split's numbers are
    exactly those of rolling out that split alone with the same seeds."""
    run = tiny_run("adapt")
    reported = json.loads((run.path / "final" / "adaptation.json").read_text())["latent_errors"]
    module = AdaptationModule.load(run.path / "final" / MODULE_FILE)
    splits = build_splits(run.spec)
    assert set(reported) == set(splits)
    for name in ("test-extrapolation",):  # not the first split: its slots start further on
        tasks = list(splits[name].tasks[: run.config.eval_tasks or None])
        alone = split_latent_error(
            run.model, run.normalizer, module, run.spec, tasks, run.config.history_len, EVAL_SEED
        )
        assert reported[name] == {"latent_error": alone.module, "mean_latent_error": alone.mean_latent}
