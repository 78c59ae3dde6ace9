"""``load_agent`` deploys every method's run with its own agent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from baseline_helpers import tiny_config

from mtml_rl.agents import Agent
from mtml_rl.agents.finetune import FinetuneAgent
from mtml_rl.agents.loading import load_agent
from mtml_rl.agents.policy import AdaptAgent, PolicyAgent
from mtml_rl.agents.rl2 import RL2Agent
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train

EXPECTED = {"dr": PolicyAgent, "oracle": PolicyAgent, "history": PolicyAgent, "adapt": AdaptAgent}


@pytest.mark.parametrize("method", list(EXPECTED))
@pytest.mark.fast_subset({"method": "history"})  # adapt's agent is loaded by the evaluation tests
def test_meta_methods(tmp_path: Path, method: str) -> None:
    run = train(tiny_config(tmp_path / "run", method, history_len=4), progress=False)
    agent = load_agent(run.path)
    assert type(agent) is EXPECTED[method] and isinstance(agent, Agent)
    assert agent.name == method and agent.privileged == (method == "oracle")
    tasks = build_splits(run.spec)["test-interpolation"].tasks[:2]
    played = rollout_agent(agent, run.spec, tasks, seed=1)
    assert len(played) == 2 and all(np.isfinite(e.ret) for e in played)


def test_baselines(rl2_run: Run, finetune_run: Run) -> None:
    rl2 = load_agent(rl2_run.path)
    assert type(rl2) is RL2Agent and isinstance(rl2, Agent) and not rl2.privileged
    finetune = load_agent(finetune_run.path, which="final")
    assert type(finetune) is FinetuneAgent and finetune.folder == finetune_run.path / "final"
    assert type(load_agent(finetune_run)) is FinetuneAgent, "a Run in memory works too"
    assert rl2.requirements.context == finetune.requirements.context == "hidden"
