"""``load_agent``: the deployed :class:`~mtml_rl.agents.base.Agent` of a trained run."""

from __future__ import annotations

from pathlib import Path

from mtml_rl.agents.base import Agent
from mtml_rl.agents.policy import AdaptAgent, PolicyAgent
from mtml_rl.baselines.finetune import FinetuneAgent
from mtml_rl.baselines.rl2 import RL2Agent
from mtml_rl.training import rundir
from mtml_rl.training.train import Run


def load_agent(run: Run | str | Path, which: str = "final") -> Agent:
    """The agent that deploys ``run`` as its method prescribes.

    ``adapt`` acts with its adaptation module, ``rl2`` with its recurrent state over
    trials, ``finetune`` with a per-task clone (call its ``adapt`` first); ``dr``,
    ``oracle`` and ``history`` act as trained.

    :param run: a :class:`Run` or a run directory
    :param which: for a directory: ``final``, ``best`` or ``latest`` (checkpoint)
    """
    loaded = run if isinstance(run, Run) else Run.load(run, which)
    method = loaded.config.method
    if method == "adapt":
        return AdaptAgent(loaded)
    if method == "rl2":
        return RL2Agent(loaded)
    if method == "finetune":
        folder = None
        if not isinstance(run, Run):
            folder = rundir.latest_checkpoint(loaded.path).path if which == "latest" else loaded.path / which
        return FinetuneAgent(loaded, folder=folder)
    return PolicyAgent(loaded)
