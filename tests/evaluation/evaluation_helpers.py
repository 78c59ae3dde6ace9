"""Helpers of the evaluation tests: tiny run configs and small evaluation settings.

Runs train a few thousand CartPole steps with one torch thread and a fixed seed; evaluations
use two episodes per task, a few hundred bootstrap replications and a subset of the splits,
so that the folder stays fast while every output is still produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.evaluation.evaluate import EvalConfig
from mtml_rl.evaluation.results import EpisodeRow, Protocol, Results, RunRecord, TaskRecord
from mtml_rl.training import TrainConfig

CARTPOLE = "mtml/CartPole-v0"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SPLITS = ("train", "test-interpolation")


@dataclass(frozen=True)
class Evaluated:
    """One full evaluation (the ``evaluated`` fixture): its results and output folder.

    Here, not in ``conftest.py``: every test folder has a ``conftest`` module, and which one
    ``from conftest import ...`` finds depends on the order pytest collected the folders in.
    """

    results: Results
    out: Path


def tiny_config(out: Path, method: str, **fields: Any) -> TrainConfig:
    """A cheap, seeded, one-thread CartPole config of ``method`` (no periodic evaluation)."""
    values: dict[str, Any] = {
        "env": CARTPOLE,
        "method": method,
        "timesteps": 1024,
        "n_envs": 4,
        "seed": 0,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": {"n_steps": 64, "batch_size": 128, "n_epochs": 1},
        "adapt_timesteps": 256,
        "adapt_iterations": 2,
        "adapt_epochs": 1,
    }
    values.update(fields)
    return TrainConfig(**values)


def small_eval(**fields: Any) -> EvalConfig:
    """A quick :class:`EvalConfig`: two episodes, two splits, 200 bootstrap replications."""
    values: dict[str, Any] = {"episodes": 2, "splits": SPLITS, "bootstrap_reps": 200, "progress": False}
    values.update(fields)
    return EvalConfig(**values)


# -- results built by hand: two runs, two splits of two tasks, two episodes per task ----------
EPISODES = 2
"""Episodes per task of the results built by hand."""


def run_record(run_id: str, seed: int) -> RunRecord:
    return RunRecord(
        run_id, f"/runs/dr-s{seed}", "dr", "dr", "ppo", seed, CARTPOLE, "spec-hash",
        dict.fromkeys(SPLITS, "split-hash"), False, 1, 1024,
    )  # fmt: skip


def tasks() -> list[TaskRecord]:
    return [
        TaskRecord(CARTPOLE, split, f"{split}-{i}", {"length": 0.5 + i}, 20.0)
        for split in SPLITS
        for i in range(2)
    ]


def episodes(run_id: str, splits: Sequence[str] = SPLITS, offset: float = 0.0) -> list[EpisodeRow]:
    return [
        EpisodeRow(run_id, CARTPOLE, split, f"{split}-{i}", k, 0, k, 100.0 + 10 * i + k + offset, 100, None)
        for split in splits
        for i in range(2)
        for k in range(EPISODES)
    ]


def results(run_ids: tuple[str, ...] = ("run0", "run1"), splits: Sequence[str] = SPLITS) -> Results:
    return Results(
        Protocol(EPISODES, 0, True, list(splits)),
        [run_record(r, seed) for seed, r in enumerate(run_ids)],
        tasks(),
        [e for r in run_ids for e in episodes(r, splits)],
    )
