"""Diagnose trained runs of a discrete-action meta-policy (``dr``, ``history``): does the
deployed action depend on the state, and how large are ``z`` and the observation features?

For each run: the mean return of one deterministic episode on each of the first ``--tasks``
train tasks (reset seed ``--seed + i``, context withheld), the share of steps on which the
policy chose its most frequent action (1.0: one constant action), the mean ``|z|`` of the
latent the policy reads (at every step and at the episodes' first step), the mean
``|ObsEncoder(o)|``, and the policy's entropy in the last training update (from the run's
``logs/progress.csv``). Only the train split is read.

Usage::

    mtml-rl train --env mtml/Acrobot-v0 --method history --timesteps 50000 --seed 0 \\
        --eval-freq 0 --out runs/acrobot-history-s0
    python scripts/diagnose_history.py runs/acrobot-history-s0 runs/acrobot-dr-s0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from mtml_rl.agents.policy import PolicyAgent
from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.evaluation.plots import read_progress
from mtml_rl.lifetime import script_exit_status
from mtml_rl.policies import MetaExtractor
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run


class RecordingAgent(PolicyAgent):
    """A deployed policy that records its actions, ``|z|`` and ``|ObsEncoder(o)|``."""

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        policy: Any = run.model.policy
        self.extractor: MetaExtractor = policy.pi_features_extractor
        self.actions: list[np.ndarray] = []
        self.z: list[float] = []
        self.features: list[float] = []

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The policy's action, recorded with the scale of its inputs."""
        normalized = self.run.normalizer.normalize_obs(obs) if self.run.normalizer else obs
        tensors, _ = self.run.model.policy.obs_to_tensor(normalized)
        with th.no_grad():
            z = self.extractor.latent(tensors)
            plain = tensors["obs"] if isinstance(tensors, dict) else tensors
            self.features.append(float(self.extractor.obs_encoder(plain).abs().mean()))
        if z is not None:
            self.z.append(float(z.abs().mean()))
        actions = super().act(obs, deterministic)
        self.actions.append(np.ravel(actions).copy())
        return actions


def last_entropy(run: Path) -> float:
    """Minus the last logged ``train/entropy_loss`` (the policy's entropy), NaN if none; a
    damaged log is refused (:class:`~mtml_rl.training.monitor.DamagedLogError`)."""
    numbers = read_progress(run).get("train/entropy_loss", np.array([]))
    numbers = numbers[~np.isnan(numbers)]
    return -float(numbers[-1]) if len(numbers) else float("nan")


def diagnose(path: Path, tasks: int, seed: int) -> str:
    """One markdown row for a run."""
    run = Run.load(path)
    agent = RecordingAgent(run)
    chosen = list(build_splits(run.spec)["train"].tasks)[:tasks]
    episodes = rollout_agent(agent, run.spec, chosen, seed=seed)
    actions = np.concatenate(agent.actions).astype(np.int64)
    top = np.bincount(actions).max() / len(actions)
    z = f"{np.mean(agent.z):.2f} ({agent.z[0]:.2f})" if agent.z else "–"
    mean_return = np.mean([e.ret for e in episodes])
    return (
        f"| {path.name} | {run.method.name} | {mean_return:.1f} | {top:.3f} | {z} | "
        f"{np.mean(agent.features):.3f} | {last_entropy(path):.3f} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print one row per run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (discrete actions)")
    parser.add_argument("--tasks", type=int, default=16, help="first train tasks played")
    parser.add_argument("--seed", type=int, default=100, help="reset seed of task 0")
    args = parse_arguments(parser, argv)
    th.set_num_threads(1)
    columns = ["run", "method", "return", "most frequent action", "mean abs z (first step)"]
    columns += ["mean abs ObsEncoder(o)", "entropy"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|")
    for path in args.runs:
        print(diagnose(path, args.tasks, args.seed), flush=True)


if __name__ == "__main__":
    sys.exit(script_exit_status("diagnose_history.py", main))
