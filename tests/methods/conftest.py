"""Fixtures of the baseline tests: tiny runs, trained once per session (helpers live in
``baseline_helpers``)."""

from __future__ import annotations

import pytest
from baseline_helpers import tiny_config

from mtml_rl.training import Run, train


@pytest.fixture(scope="session")
def rl2_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """An rl2 run on CartPole (trials of 2 episodes), with one periodic evaluation on the way."""
    out = tmp_path_factory.mktemp("rl2") / "run"
    return train(tiny_config(out, "rl2", eval_freq=128, eval_tasks=2), progress=False)


@pytest.fixture(scope="session")
def finetune_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A finetune run on CartPole (trained like dr; 256 fine-tuning steps per task: two rollouts)."""
    out = tmp_path_factory.mktemp("finetune") / "run"
    return train(tiny_config(out, "finetune"), progress=False)
