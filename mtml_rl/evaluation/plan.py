"""What to evaluate: the protocol's flags (:class:`EvalConfig`) and the runs grouped by spec
(:class:`SpecPlan`), checked before anything is played or written."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mtml_rl.errors import ConfigError, suggest
from mtml_rl.evaluation.rendering import check_family_renders
from mtml_rl.evaluation.results import Protocol
from mtml_rl.evaluation.runs import LoadedRun
from mtml_rl.specs.spec import MAX_SPLIT_TASKS, TaskSpec
from mtml_rl.specs.splits import TEST_SPLITS, build_splits
from mtml_rl.training.config import check_seed, check_thread_count


@dataclass
class EvalConfig:
    """How to evaluate (the ``mtml-rl evaluate`` flags).

    :param splits: the splits to evaluate (default: train and every test split of the spec)
    :param episodes: episodes per task
    :param trial: episodes per trial (default: each run's own trial length)
    :param deterministic: deterministic actions (``False``: sample them)
    :param seed: base reset seed (task ``i`` of a split uses ``seed + i``) and bootstrap seed
    :param grid: two varying parameters to sweep for the generalization heat map
    :param grid_size: grid points per parameter
    :param video: episodes to record per run on the first task of each split (0: none)
    :param bootstrap_reps: bootstrap replications of the confidence intervals
    :param progress: show a progress bar (default: when stderr is a terminal)
    :param num_threads: torch CPU threads while evaluating (policies act on small batches, for
        which one thread is fastest; the previous setting is restored afterwards)
    :param parallel_trials: play every trial of a task in a slot of its own where the family
        allows it (numpy families): the same episodes as one slot per task playing them in
        turn, in fewer, wider steps (``False``: one slot per task)
    :param figures: draw the pictures (``False``: ``report.md`` without them, which is faster)
    :param deploy_as: deploy every run as this method, one that trains as the runs' own and
        differs in deployment only (``finetune`` for ``dr`` runs:
        :meth:`~mtml_rl.training.run.Run.deployed_as`; ``None``: as each run's own method)
    :param deployment: values of that method's deployment fields (e.g. ``finetune_timesteps``;
        the run's own where not given)
    """

    splits: tuple[str, ...] | None = None
    episodes: int = 10
    trial: int | None = None
    deterministic: bool = True
    seed: int = 0
    grid: tuple[str, str] | None = None
    grid_size: int = 9
    video: int = 0
    bootstrap_reps: int = 2000
    progress: bool | None = None
    num_threads: int = 1
    parallel_trials: bool = True
    figures: bool = True
    deploy_as: str | None = None
    deployment: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Check every field; a :class:`ConfigError` names the flag and the fix."""
        positive = {
            "episodes": self.episodes,
            "grid-size": self.grid_size,
            "bootstrap-reps": self.bootstrap_reps,
            "num-threads": self.num_threads,
        }
        if self.trial is not None:
            positive["trial"] = self.trial
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"--{name} must be a positive integer, got {value!r}")
        for name, value in {"video": self.video, "seed": self.seed}.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"--{name} must be an integer >= 0, got {value!r}")
        check_thread_count("--num-threads", self.num_threads)
        check_seed("--seed", self.seed)
        if self.grid_size**2 > MAX_SPLIT_TASKS:
            raise ConfigError(
                f"--grid-size {self.grid_size} draws {self.grid_size**2:,} tasks; at most "
                f"{math.isqrt(MAX_SPLIT_TASKS)} per parameter ({MAX_SPLIT_TASKS:,} tasks, a split's most)"
            )
        if self.grid is not None and (len(self.grid) != 2 or self.grid[0] == self.grid[1]):
            raise ConfigError(f"--grid takes two different parameters, got {' '.join(self.grid)}")
        if self.grid is not None and self.grid_size < 2:
            raise ConfigError(f"--grid-size must be at least 2, got {self.grid_size}")

    def protocol(self, splits: list[str]) -> Protocol:
        """The protocol recorded in the results."""
        return Protocol(self.episodes, self.seed, self.deterministic, splits, self.bootstrap_reps)


@dataclass
class SpecPlan:
    """What to evaluate on one spec: its splits and the runs trained on it."""

    spec: TaskSpec
    splits: list[str]
    runs: list[LoadedRun]


def default_splits(spec: TaskSpec) -> list[str]:
    """``train`` and every non-empty test split of ``spec``."""
    present = build_splits(spec)
    return ["train", *[s for s in TEST_SPLITS if s in present]]


def plan(loaded: Sequence[LoadedRun], config: EvalConfig) -> dict[str, SpecPlan]:
    """Group runs by spec and check the splits, trial lengths, grid and video against them."""
    plans: dict[str, SpecPlan] = {}
    for lr in loaded:
        spec = lr.run.spec
        if spec.id not in plans:
            plans[spec.id] = SpecPlan(spec, _chosen_splits(spec, config), [])
        _check_same_tasks(plans[spec.id], lr)
        plans[spec.id].runs.append(lr)
        if config.episodes % lr.record.trial_episodes:
            raise ConfigError(
                f"--episodes {config.episodes} is not a multiple of the trial length "
                f"{lr.record.trial_episodes} of {lr.record.path} ({lr.record.method}); pass a multiple, "
                "or --trial 1"
            )
    for p in plans.values():
        _check_spec(p.spec, config)
        _check_playable(p)
    return plans


def _check_playable(p: SpecPlan) -> None:
    """Refuse a split that a run's method cannot be evaluated on (a task-id method on held-out
    environments), naming the splits it can play."""
    splits = build_splits(p.spec)
    for lr in p.runs:
        method = lr.run.method
        refused = {s: method.cannot_play(p.spec, splits[s].tasks) for s in p.splits}
        refused = {s: why for s, why in refused.items() if why}
        if not refused:
            continue
        split, why = next(iter(refused.items()))
        playable = [s for s in splits if not method.cannot_play(p.spec, splits[s].tasks)]
        raise ConfigError(
            f"{lr.record.path} ({method.name}) cannot be evaluated on split {split} of {p.spec.id}: {why}; "
            f"pass --split {' '.join(playable) or 'train'} (or splits= in the API)"
        )


def _check_same_tasks(p: SpecPlan, lr: LoadedRun) -> None:
    """Runs of one spec id are evaluated on one task list: refuse runs of another version."""
    if lr.run.spec.content_hash() != p.spec.content_hash():
        raise ConfigError(
            f"{lr.record.path} and {p.runs[0].record.path} were trained on different tasks of "
            f"{p.spec.id} (spec hashes {lr.run.spec.content_hash()} and {p.spec.content_hash()}); "
            "evaluate them separately"
        )


def _chosen_splits(spec: TaskSpec, config: EvalConfig) -> list[str]:
    if config.splits is None:
        return default_splits(spec)
    splits = build_splits(spec)
    for name in config.splits:
        splits[name]  # raises a did-you-mean error for an unknown split
    return list(dict.fromkeys(config.splits))


def _check_spec(spec: TaskSpec, config: EvalConfig) -> None:
    for name in config.grid or ():
        if name not in spec.varying:
            raise ConfigError(
                f"--grid: parameter {name!r} does not vary in {spec.id}{suggest(name, spec.varying)}; "
                f"its varying parameters are {', '.join(spec.varying)}"
            )
    if config.video:
        check_family_renders(spec)
