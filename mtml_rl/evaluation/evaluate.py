"""``evaluate`` and ``compare``: run the protocol, derive the scores, write the outputs.

Protocol (see ``docs/evaluation.md``): every task of every chosen split is played for
``episodes`` episodes in trials of ``trial`` episodes (default: the run's own trial length),
task ``i`` of a list reset with seed ``seed + i`` (its episodes continue that slot's stream,
so they start from distinct states), deterministic actions unless told otherwise, the
context withheld from every deployed agent (the oracle reads it and is reported as the
privileged reference). A uniform random agent plays the same tasks with the same seeds.

Every check that can refuse the input runs before anything is written; the output folder is
built under a temporary name and appears whole at the end, or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import torch as th

from mtml_rl.errors import ConfigError, suggest
from mtml_rl.evaluation import collect
from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.merge import merge_results
from mtml_rl.evaluation.output import check_output_dir, write_outputs
from mtml_rl.evaluation.progress import Progress
from mtml_rl.evaluation.references import family_reference
from mtml_rl.evaluation.results import Protocol, Results, TaskRecord, load_results
from mtml_rl.evaluation.runs import LoadedRun, open_run
from mtml_rl.families.sim import is_sim_family
from mtml_rl.io import atomic_dir
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import TEST_SPLITS, build_splits
from mtml_rl.training import rundir


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
        if self.video < 0 or self.seed < 0:
            raise ConfigError("--video and --seed must be integers >= 0")
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
        plans[spec.id].runs.append(lr)
        if config.episodes % lr.record.trial_episodes:
            raise ConfigError(
                f"--episodes {config.episodes} is not a multiple of the trial length "
                f"{lr.record.trial_episodes} of {lr.record.path} ({lr.record.method}); pass a multiple, "
                "or --trial 1"
            )
    for p in plans.values():
        _check_spec(p.spec, config)
    return plans


def _chosen_splits(spec: TaskSpec, config: EvalConfig) -> list[str]:
    if config.splits is None:
        return default_splits(spec)
    splits = build_splits(spec)
    for name in config.splits:
        splits[name]  # raises a did-you-mean error for an unknown split
    return list(dict.fromkeys(config.splits))


def _check_spec(spec: TaskSpec, config: EvalConfig) -> None:
    family = spec.family_cls
    for name in config.grid or ():
        if name not in spec.varying:
            raise ConfigError(
                f"--grid: parameter {name!r} does not vary in {spec.id}{suggest(name, spec.varying)}; "
                f"its varying parameters are {', '.join(spec.varying)}"
            )
    if config.video:
        from mtml_rl.evaluation.video import check_rendering
        from mtml_rl.families.base import Family

        if is_sim_family(family):
            check_rendering(spec)
        elif cast("type[Family]", family).render_rgb is Family.render_rgb:
            raise ConfigError(f"family {spec.family!r} does not render frames; drop --video")


def default_output(paths: Sequence[str | Path], kind: str = "evaluation") -> Path:
    """``RUN/evaluation`` for one run, else ``<kind>-<time>`` in the working directory."""
    if len(paths) == 1 and kind == "evaluation":
        return Path(paths[0]) / "evaluation"
    return Path(f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")


def load_runs(paths: Sequence[str | Path], config: EvalConfig) -> list[LoadedRun]:
    """Open every run (refusing bad ones) with ids ``run0``, ``run1`` ..."""
    if not paths:
        raise ConfigError("no run given; pass one or more run directories")
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ConfigError("a run directory is given twice; pass each run once")
    return [open_run(p, f"run{i}", config.trial) for i, p in enumerate(paths)]


def collect_results(plans: dict[str, SpecPlan], config: EvalConfig, progress: Progress) -> Results:
    """Play every run and the random baseline on every planned task (raw results)."""
    splits = list(dict.fromkeys(s for p in plans.values() for s in p.splits))
    results = Results(config.protocol(splits), [lr.record for p in plans.values() for lr in p.runs], [], [])
    for p in plans.values():
        for split in p.splits:
            _collect_split(results, p, split, config, progress)
        if config.grid is not None:
            results.grids.append(_collect_grid(p, config, progress))
    return results


def _collect_split(results: Results, p: SpecPlan, split: str, config: EvalConfig, progress: Progress) -> None:
    spec, tasks = p.spec, list(build_splits(p.spec)[split].tasks)
    progress.describe(f"{spec.name} {split}: random")
    randoms = collect.random_returns(
        spec, tasks, episodes=config.episodes, seed=config.seed, advance=progress.advance
    )
    reference = family_reference(spec)
    results.tasks += [
        TaskRecord(spec.id, split, t.id, t.as_dict(), r, family_reference=reference)
        for t, r in zip(tasks, randoms, strict=True)
    ]
    for lr in p.runs:
        progress.describe(f"{spec.name} {split}: {lr.record.label} s{lr.record.seed}")
        played = collect.play(
            lr.agent,
            spec,
            tasks,
            episodes=config.episodes,
            trial_episodes=lr.record.trial_episodes,
            seed=config.seed,
            deterministic=config.deterministic,
            advance=progress.advance,
        )
        results.episodes += collect.episode_rows(lr.record.id, spec.id, split, tasks, played)
        results.adaptation.append(
            collect.adaptation_curve(lr.record.id, spec, split, played, lr.record.trial_episodes)
        )


def _collect_grid(p: SpecPlan, config: EvalConfig, progress: Progress) -> collect.GridResult:
    assert config.grid is not None
    spec, size = p.spec, config.grid_size
    grid, tasks = collect.grid_layout(spec, config.grid, size)
    progress.describe(f"{spec.name} grid: random")
    randoms = collect.random_returns(
        spec, tasks, episodes=config.episodes, seed=config.seed, advance=progress.advance
    )
    grid.random_return = collect.to_grid(randoms, size)
    grid.family_reference = family_reference(spec)
    for lr in p.runs:
        progress.describe(f"{spec.name} grid: {lr.record.label} s{lr.record.seed}")
        played = collect.play(
            lr.agent,
            spec,
            tasks,
            episodes=config.episodes,
            trial_episodes=lr.record.trial_episodes,
            seed=config.seed,
            deterministic=config.deterministic,
            advance=progress.advance,
        )
        means = [0.0] * len(tasks)
        for e in played:
            means[e.task_index] += e.ret / config.episodes
        grid.returns[lr.record.id] = collect.to_grid(means, size)
    return grid


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` torch CPU threads inside the block."""
    before = th.get_num_threads()
    th.set_num_threads(n)
    try:
        yield
    finally:
        th.set_num_threads(before)


def _task_count(plans: dict[str, SpecPlan], config: EvalConfig) -> int:
    total = 0
    for p in plans.values():
        per_list = 1 + len(p.runs)
        total += sum(len(build_splits(p.spec)[s]) for s in p.splits) * per_list
        if config.grid is not None:
            total += config.grid_size**2 * per_list
    return total


def evaluate(
    paths: Sequence[str | Path], config: EvalConfig | None = None, out: str | Path | None = None
) -> tuple[Results, Path]:
    """Evaluate runs and write ``results.json``, ``results.csv``, ``report.md`` and pictures.

    :param paths: run directories
    :param config: the protocol and outputs (default: :class:`EvalConfig` defaults)
    :param out: output folder (default: :func:`default_output`); a previous evaluation there
        is replaced, any other non-empty folder refused
    :returns: the results and the output folder
    """
    config = config or EvalConfig()
    config.validate()
    loaded = load_runs(paths, config)
    plans = plan(loaded, config)
    target = Path(out) if out is not None else default_output(paths)
    check_output_dir(target)
    with atomic_dir(target) as tmp, torch_threads(config.num_threads):
        with Progress(_task_count(plans, config), config.progress) as progress:
            results = collect_results(plans, config, progress)
        analyze(results)
        if config.video:
            from mtml_rl.evaluation.video import record_videos

            results.videos = record_videos(plans, config, tmp)
        write_outputs(results, tmp, title="Evaluation report")
    return results, target


def compare(
    inputs: Sequence[str | Path],
    config: EvalConfig | None = None,
    out: str | Path | None = None,
    *,
    adopt_protocol: bool = True,
) -> tuple[Results, Path]:
    """Merge evaluations (``results.json`` files or folders) and runs (evaluated here) into one
    table by method x split, with one set of pictures.

    Every input must share the protocol (episodes, seed, deterministic actions), so that the
    numbers compare. Runs are evaluated with ``config``, whose protocol is first taken from
    the first results given when ``adopt_protocol`` is set.
    """
    config = config or EvalConfig()
    if not inputs:
        raise ConfigError("nothing to compare; pass run directories or results.json files")
    parts, run_paths = _classify(inputs)
    if adopt_protocol and parts:
        first = parts[0].protocol
        config = replace(config, episodes=first.episodes, seed=first.seed, deterministic=first.deterministic)
    config.validate()
    loaded = load_runs(run_paths, config) if run_paths else []
    plans = plan(loaded, config) if loaded else {}
    target = Path(out) if out is not None else default_output(inputs, "comparison")
    check_output_dir(target)
    with atomic_dir(target) as tmp, torch_threads(config.num_threads):
        if plans:
            with Progress(_task_count(plans, config), config.progress) as progress:
                parts.append(collect_results(plans, config, progress))
        results = analyze(merge_results(parts, config.bootstrap_reps))
        write_outputs(results, tmp, title="Comparison report")
    return results, target


def _classify(inputs: Sequence[str | Path]) -> tuple[list[Results], list[Path]]:
    parts: list[Results] = []
    runs: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir() and rundir.is_run_dir(path):
            runs.append(path)
        elif path.is_file() or (path / "results.json").is_file():
            parts.append(load_results(path))
        elif not path.exists():
            raise ConfigError(f"{path} does not exist; pass run directories or results.json files")
        else:
            raise ConfigError(
                f"{path} is neither a run directory (config.yaml) nor an evaluation (results.json)"
            )
    return parts, runs
