"""What a published table must say about itself: commit, date, machine and budgets."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mtml_rl.benchmark.trials import Trial
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.registry import get_method
from mtml_rl.training.rundir import cpu_kernels, describe_kernels


def git_commit(folder: Path | None = None) -> str:
    """The short commit of the checkout holding ``folder`` (default: this package), with
    ``-dirty`` if it has uncommitted changes; ``unknown`` outside a git checkout."""
    where = folder or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=where, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=10", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


@dataclass(frozen=True)
class Provenance:
    """Where and when a table was made.

    :param commit: :func:`git_commit`
    :param date: UTC date and time
    :param machine: platform, CPU count and the CPU kernels torch uses
        (:func:`~mtml_rl.training.rundir.cpu_kernels`: results of the convolutional history
        encoder and of LSTMs differ between kernel widths)
    """

    commit: str
    date: str
    machine: str

    @classmethod
    def now(cls) -> Provenance:
        """The provenance of a table made now, on this machine, from this checkout."""
        machine = (
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"torch CPU kernels {describe_kernels(cpu_kernels())}"
        )
        return cls(git_commit(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine)


@dataclass(frozen=True)
class Budget:
    """The environment steps one (spec, method) was trained for.

    :param spec: the spec's name
    :param method: the method
    :param algo: the SB3 algorithm
    :param timesteps: training steps (phase 1 for ``adapt``)
    :param extra: the method's extra steps, in words (phase 2, per-task fine-tuning), after
        whose run it deploys where it trains none of its own
    """

    spec: str
    method: str
    algo: str
    timesteps: int
    extra: str


def trial_budget(trial: Trial) -> Budget:
    """The budget a trial trains with (its timesteps, else its family's shipped default)."""
    config = TrainConfig.from_dict(dict(trial.config), source=trial.name)
    method = config.resolved_method()
    algo, extra = method.algorithm_label(config), method.budget_note(config)
    if trial.trained_by is not None:  # the steps of the run it deploys, trained once for both
        source = get_method(str((trial.run_config or {})["method"])).name
        extra = f"(`{source}`'s run) {extra}".rstrip()
    spec = trial.name.removesuffix(f"-{method.name}-s{trial.seed}")
    return Budget(spec, method.name, algo, trial.steps, extra)


def budgets_markdown(trials: Sequence[Trial]) -> str:
    """A markdown table of the trials' budgets (one row per spec and method)."""
    budgets = {}
    for trial in trials:
        budget = trial_budget(trial)
        budgets[(budget.spec, budget.method)] = budget
    lines = ["| spec | method | algorithm | environment steps |", "|---|---|---|---|"]
    for budget in budgets.values():
        steps = f"{budget.timesteps:,}" + (f" {budget.extra}" if budget.extra else "")
        lines.append(f"| {budget.spec} | {budget.method} | {budget.algo} | {steps} |")
    return "\n".join(lines)
