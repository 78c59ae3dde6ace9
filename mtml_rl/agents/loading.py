"""``load_agent``: the deployed :class:`~mtml_rl.rollouts.agent.Agent` of a trained run."""

from __future__ import annotations

from pathlib import Path

from mtml_rl.rollouts import Agent
from mtml_rl.training.run import Run


def load_agent(run: Run | str | Path, which: str = "final") -> Agent:
    """The agent that deploys ``run`` as its method prescribes (the method's ``agent``).

    Of the built-ins, ``adapt`` acts with its adaptation module, ``rl2`` with its recurrent
    state over trials, ``finetune`` with a per-task clone (call its ``adapt`` first);
    ``dr``, ``oracle`` and ``history`` act as trained.

    :param run: a :class:`Run` or a run directory
    :param which: for a directory: ``final``, ``best``, ``latest`` (checkpoint) or a checkpoint's
        ``step_N``
    """
    loaded = run if isinstance(run, Run) else Run.load(run, which)
    return loaded.method.agent(loaded)
