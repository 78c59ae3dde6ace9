"""Results built by hand (no training): runs with chosen returns on a spec's real tasks.

``synthetic_results`` gives each method one or more runs whose episodes on every task of the
chosen splits return a chosen value (plus a small seeded spread, so that bootstrap intervals
are not points), then derives every score with :func:`analyze`, as an evaluation would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.references import family_reference, solved_level
from mtml_rl.evaluation.results import EpisodeRow, Protocol, Results, RunRecord, TaskRecord
from mtml_rl.methods import get_method
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits

EPISODES = 2


def run_record(run_id: str, method: str, seed: int, spec: TaskSpec, path: Path, trial: int = 1) -> RunRecord:
    """A run of ``method`` reported under the method's label (the oracle's is privileged)."""
    m = get_method(method)
    return RunRecord(
        run_id, str(path), m.report_label, method, "ppo", seed, spec.id, "hash", {}, m.privileged, trial, 1000
    )


def synthetic_results(
    spec: TaskSpec,
    returns: Mapping[str, float],
    *,
    random_return: float,
    splits: Sequence[str] = ("test-interpolation",),
    seeds: Sequence[int] = (0, 1, 2),
    root: Path = Path("/nonexistent"),
    spread: float = 1.0,
) -> Results:
    """Analyzed results: every run of method ``m`` returns about ``returns[m]`` on every task.

    :param spec: the spec whose tasks are played
    :param returns: each method's mean return
    :param random_return: the random baseline's return on every task
    :param splits: the splits played
    :param seeds: the seeds (one run per method and seed)
    :param root: where the runs' folders would be (learning curves read them)
    :param spread: the standard deviation of the episodes' returns
    """
    rng = np.random.default_rng(0)
    runs = [
        run_record(f"run{i}", method, seed, spec, root / f"{method}-s{seed}")
        for i, (method, seed) in enumerate((m, s) for m in returns for s in seeds)
    ]
    all_splits = build_splits(spec)
    tasks, episodes = [], []
    for split in splits:
        for task in all_splits[split].tasks:
            tasks.append(
                TaskRecord(
                    spec.id,
                    split,
                    task.id,
                    task.as_dict(),
                    random_return,
                    family_reference=family_reference(spec),
                    solved_return=solved_level(spec),
                )
            )
            for run in runs:
                for k in range(EPISODES):
                    ret = returns[run.method] + spread * float(rng.standard_normal())
                    episodes.append(EpisodeRow(run.id, spec.id, split, task.id, k, 0, k, ret, 100, None))
    protocol = Protocol(
        episodes=EPISODES, seed=0, deterministic=True, splits=list(splits), bootstrap_reps=200
    )
    return analyze(Results(protocol, runs, tasks, episodes))
