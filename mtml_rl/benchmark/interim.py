"""Interim evaluation of benchmark trials, until :mod:`mtml_rl.evaluation` ships its API.

Per trial: the deployed agent (:func:`~mtml_rl.agents.loading.load_agent`, context
withheld) and a uniform-random agent play every task of each split from fixed seeds.
Per grid: a normalized score per task, ``(R − R_random) / (R_oracle − R_random)`` with
``R_oracle`` and ``R_random`` the mean returns of the grid's ``oracle`` runs and of the random
agent over the split (:func:`normalized_scores`), aggregated over
seeds × tasks as the interquartile mean with a 95% bootstrap interval (rliable,
resampling tasks and runs); raw mean returns and the ``dr``-to-``oracle`` gap per family.
"""

from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from mtml_rl.agents.base import ObsRequirements, has_adapt_step
from mtml_rl.agents.loading import load_agent
from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.rollout import rollout_agent
from mtml_rl.families.registry import get_family
from mtml_rl.io import atomic_dir, atomic_write_json, atomic_write_text
from mtml_rl.tasks.spec import TaskSpec
from mtml_rl.tasks.splits import build_splits
from mtml_rl.tasks.task import Task
from mtml_rl.training.train import Run

SCHEMA = "mtml-rl/benchmark-interim/1"
BOOTSTRAP_REPS = 2000
REFERENCE_METHOD = "oracle"


class RandomAgent:
    """Uniformly random actions (the ``R_random`` of normalized scores).

    :param spec: the spec whose family's action space to sample
    :param seed: seed of its generator
    """

    name = "random"
    privileged = False
    requirements = ObsRequirements("hidden", 0)

    def __init__(self, spec: TaskSpec, seed: int) -> None:
        self.space = get_family(spec.family)().action_space()
        self.rng = np.random.default_rng(seed)

    def reset(self, num_envs: int) -> None:
        """Stateless."""

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """One random action per observation row."""
        n = int(np.asarray(obs).shape[0])
        if isinstance(self.space, spaces.Discrete):
            return self.rng.integers(0, int(self.space.n), size=n)
        if not isinstance(self.space, spaces.Box):
            raise ConfigError(f"random actions of {self.space} are not supported")
        low, high = np.asarray(self.space.low), np.asarray(self.space.high)
        return self.rng.uniform(low, high, size=(n, *low.shape)).astype(np.float32)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Stateless."""


def task_returns(
    agent: Any, spec: TaskSpec, tasks: Sequence[Task], settings: dict[str, Any], trial_len: int
) -> list[float]:
    """Mean return of every task over ``settings["episodes"]`` trials of ``trial_len`` episodes.

    Agents with an adapt step (``finetune``) adapt to each task before its episodes.
    """
    seed, trials, det = int(settings["seed"]), int(settings["episodes"]), bool(settings["deterministic"])
    if has_adapt_step(agent):
        episodes = []
        for i, task in enumerate(tasks):
            agent.adapt(spec, task, seed + i)
            episodes += rollout_agent(
                agent, spec, [task], trials=trials, trial_episodes=trial_len, seed=seed + i, deterministic=det
            )
    else:
        episodes = rollout_agent(
            agent, spec, tasks, trials=trials, trial_episodes=trial_len, seed=seed, deterministic=det
        )
    by_task: dict[str, list[float]] = defaultdict(list)
    for episode in episodes:
        by_task[episode.task.id].append(episode.ret)
    return [float(np.mean(by_task[t.id])) for t in tasks]


def evaluate_run(run_dir: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Per-task returns of a run's deployed agent and of a random agent on each split."""
    run = Run.load(run_dir)
    agent = load_agent(run)
    trial_len = int(run.config.trial_episodes or 1)
    splits = build_splits(run.spec)
    out: dict[str, Any] = {
        "run_dir": str(run_dir),
        "env": run.config.env,
        "spec": run.spec.name,
        "method": run.config.method,
        "seed": run.config.seed,
        "steps": int(run.model.num_timesteps),
        "splits": {},
    }
    for name in settings["splits"]:
        if name not in splits:
            continue
        tasks = list(splits[name].tasks)
        out["splits"][name] = {
            "hash": splits[name].hash,
            "tasks": [t.id for t in tasks],
            "returns": task_returns(agent, run.spec, tasks, settings, trial_len),
            "random_returns": task_returns(
                RandomAgent(run.spec, int(settings["seed"])), run.spec, tasks, settings, 1
            ),
        }
    return out


@dataclass(frozen=True)
class ScoreRow:
    """One (spec, method, split) cell of the comparison.

    :param spec: the spec's name
    :param method: the method
    :param split: the split
    :param runs: runs (seeds) aggregated
    :param tasks: tasks per run
    :param mean_return: mean raw return over runs × tasks
    :param iqm: IQM of normalized scores (``None`` without an oracle to normalize by)
    :param low: lower end of its 95% interval
    :param high: upper end of its 95% interval
    """

    spec: str
    method: str
    split: str
    runs: int
    tasks: int
    mean_return: float
    iqm: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Comparison:
    """The aggregated benchmark: its rows and where the report is.

    :param report_dir: the folder of report.md, results.json, results.csv and the pictures
    :param rows: one per (spec, method, split)
    """

    report_dir: Path
    rows: list[ScoreRow]

    @property
    def report(self) -> Path:
        """The markdown report."""
        return self.report_dir / "report.md"


def _matrices(summaries: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, np.ndarray]]:
    """``(spec, split, method) -> {"returns", "random"}``, each ``(runs, tasks)``."""
    grouped: dict[tuple[str, str, str], dict[str, list[list[float]]]] = defaultdict(
        lambda: {"returns": [], "random": []}
    )
    order: dict[tuple[str, str], list[str]] = {}
    for summary in sorted(summaries, key=lambda s: (s["spec"], s["method"], s["seed"])):
        for split, data in summary["splits"].items():
            tasks = order.setdefault((summary["spec"], split), data["tasks"])
            if tasks != data["tasks"]:
                raise ConfigError(f"{summary['run_dir']}: split {split} holds other tasks than its peers'")
            cell = grouped[(summary["spec"], split, summary["method"])]
            cell["returns"].append(data["returns"])
            cell["random"].append(data["random_returns"])
    return {key: {k: np.asarray(v, dtype=float) for k, v in cell.items()} for key, cell in grouped.items()}


def normalized_scores(
    matrices: dict[tuple[str, str, str], dict[str, np.ndarray]],
) -> dict[tuple[str, str, str], np.ndarray]:
    """Normalized scores of every cell whose (spec, split) has oracle runs.

    ``(R − R_random(task)) / (mean R_oracle − mean R_random)``, both means over the split's
    tasks: a split-level gap, because a per-task one explodes on tasks where the oracle
    itself does no better than random (a reversed actuator it has not mastered).
    """
    out = {}
    for (spec, split, method), cell in matrices.items():
        reference = matrices.get((spec, split, REFERENCE_METHOD))
        if reference is None:
            continue
        rand = np.concatenate([c["random"] for (s, p, _), c in matrices.items() if (s, p) == (spec, split)])
        rand_task = rand.mean(axis=0)
        gap = float(reference["returns"].mean() - rand_task.mean())
        floor = 0.01 * max(abs(float(rand_task.mean())), abs(float(reference["returns"].mean())), 1.0)
        out[(spec, split, method)] = (cell["returns"] - rand_task) / max(gap, floor)
    return out


def iqm_intervals(scores: dict[str, np.ndarray]) -> dict[str, tuple[float, float, float]]:
    """IQM and 95% bootstrap interval of each ``(runs, tasks)`` score matrix (rliable)."""
    try:
        from rliable import library as rly
        from rliable import metrics
    except ImportError:
        raise ConfigError("score intervals need rliable: pip install 'mtml-rl[eval]'") from None
    if not scores:
        return {}
    state = np.random.RandomState(0)
    with warnings.catch_warnings():  # arch (under rliable) deprecates the RandomState it is given
        warnings.simplefilter("ignore", FutureWarning)
        points, intervals = rly.get_interval_estimates(
            scores, metrics.aggregate_iqm, task_bootstrap=True, reps=BOOTSTRAP_REPS, random_state=state
        )
    out = {}
    for key in scores:
        low, high = np.ravel(intervals[key])[:2]
        out[key] = (float(np.ravel(points[key])[0]), float(low), float(high))
    return out


def score_rows(summaries: Sequence[dict[str, Any]]) -> list[ScoreRow]:
    """One :class:`ScoreRow` per (spec, method, split)."""
    matrices = _matrices(summaries)
    normalized = normalized_scores(matrices)
    by_group: dict[tuple[str, str], dict[str, np.ndarray]] = defaultdict(dict)
    for (spec, split, method), scores in normalized.items():
        by_group[(spec, split)][method] = scores
    estimates = {
        (spec, split, m): value
        for (spec, split), scores in by_group.items()
        for m, value in iqm_intervals(scores).items()
    }
    rows = []
    for key, cell in sorted(matrices.items(), key=lambda kv: _row_order(kv[0])):
        spec, split, method = key
        runs, tasks = cell["returns"].shape
        iqm, low, high = estimates.get(key, (None, None, None))
        rows.append(ScoreRow(spec, method, split, runs, tasks, float(cell["returns"].mean()), iqm, low, high))
    return rows


def _row_order(key: tuple[str, str, str]) -> tuple[Any, ...]:
    from mtml_rl.training.config import METHODS

    spec, split, method = key
    splits = ("train", "test-interpolation", "test-extrapolation", "test-combinatorial")
    return (
        spec,
        METHODS.index(method) if method in METHODS else len(METHODS),
        method,
        splits.index(split) if split in splits else len(splits),
        split,
    )


def compare_summaries(summaries: Sequence[dict[str, Any]], report_dir: Path, title: str) -> Comparison:
    """Write report.md, results.json, results.csv and the pictures of ``summaries``."""
    from mtml_rl.benchmark import plots, tables

    rows = score_rows(summaries)
    with atomic_dir(report_dir) as tmp:
        atomic_write_json(
            tmp / "results.json",
            {"schema": SCHEMA, "title": title, "rows": [asdict(r) for r in rows], "runs": list(summaries)},
        )
        _write_csv(tmp / "results.csv", summaries)
        pictures = plots.score_plot(rows, tmp) + plots.learning_curves(summaries, tmp)
        atomic_write_text(tmp / "report.md", tables.report_markdown(title, rows, pictures))
    return Comparison(report_dir, rows)


def _write_csv(path: Path, summaries: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["spec", "method", "seed", "split", "task", "return", "random_return"])
        for s in summaries:
            for split, data in s["splits"].items():
                for task, ret, rand in zip(
                    data["tasks"], data["returns"], data["random_returns"], strict=True
                ):
                    writer.writerow([s["spec"], s["method"], s["seed"], split, task, ret, rand])
