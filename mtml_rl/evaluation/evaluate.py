"""``evaluate`` and ``compare``: run the protocol, derive the scores, write the outputs.

Protocol (see ``docs/evaluation.md``): every task of every chosen split is played for
``episodes`` episodes in trials of ``trial`` episodes (default: the run's own trial length),
task ``i`` of a list reset with seed ``seed + i`` (its episodes continue that slot's stream,
so they start from distinct states), deterministic actions unless told otherwise, the
context withheld from every deployed agent (the oracle reads it and is reported as the
privileged reference). A uniform random agent plays the same tasks with the same seeds.

Every check that can refuse the input runs before anything is written; the output folder is
locked (a second writer is refused with the first one's PID), built under a temporary name and
appears whole at the end, or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch as th

from mtml_rl.errors import ConfigError
from mtml_rl.evaluation import collect
from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.merge import merge_results
from mtml_rl.evaluation.output import check_output_dir, write_outputs
from mtml_rl.evaluation.plan import EvalConfig, SpecPlan, default_splits, plan
from mtml_rl.evaluation.progress import Progress
from mtml_rl.evaluation.references import family_reference, solved_level
from mtml_rl.evaluation.results import Results, TaskRecord, load_results
from mtml_rl.evaluation.runs import LoadedRun, open_run
from mtml_rl.evaluation.video import record_videos
from mtml_rl.io import atomic_dir
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task
from mtml_rl.training import rundir

__all__ = ["EvalConfig", "SpecPlan", "compare", "default_output", "default_splits", "evaluate", "plan"]


def default_output(
    paths: Sequence[str | Path], kind: str = "evaluation", deploy_as: str | None = None
) -> Path:
    """``RUN/evaluation`` for one run (``RUN/evaluation-<method>`` deployed as another method,
    so that the run's own evaluation stays), else ``<kind>-<time>`` in the working directory."""
    if len(paths) == 1 and kind == "evaluation":
        return rundir.evaluation_dir(Path(paths[0]), deploy_as)
    return Path(f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")


def load_runs(paths: Sequence[str | Path], config: EvalConfig) -> list[LoadedRun]:
    """Open every run (refusing bad ones) with ids ``run0``, ``run1`` ..."""
    if not paths:
        raise ConfigError("no run given; pass one or more run directories")
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ConfigError("a run directory is given twice; pass each run once")
    return [
        open_run(p, f"run{i}", config.trial, deploy_as=config.deploy_as, deployment=config.deployment)
        for i, p in enumerate(paths)
    ]


def collect_results(plans: dict[str, SpecPlan], config: EvalConfig, progress: Progress) -> Results:
    """Play every run and the random baseline on every planned task (raw results)."""
    splits = list(dict.fromkeys(s for p in plans.values() for s in p.splits))
    results = Results(config.protocol(splits), [lr.record for p in plans.values() for lr in p.runs], [], [])
    for p in plans.values():
        results.headlines[p.spec.id] = getattr(p.spec.family_cls, "headline_metric", "normalized")
        for split in p.splits:
            _collect_split(results, p, split, config, progress)
        if config.grid is not None:
            results.grids.append(_collect_grid(p, config, progress))
    return results


def _play(
    lr: LoadedRun, spec: TaskSpec, tasks: Sequence[Task], config: EvalConfig, progress: Progress
) -> list[collect.Played]:
    """``lr``'s agent on ``tasks`` under the protocol of ``config`` (its episodes, seed and
    action mode), in trials of the run's own length."""
    return collect.play(
        lr.agent,
        spec,
        tasks,
        episodes=config.episodes,
        trial_episodes=lr.record.trial_episodes,
        seed=config.seed,
        deterministic=config.deterministic,
        advance=progress.advance,
        parallel=config.parallel_trials,
    )


def _collect_split(results: Results, p: SpecPlan, split: str, config: EvalConfig, progress: Progress) -> None:
    spec, tasks = p.spec, list(build_splits(p.spec)[split].tasks)
    progress.describe(f"{spec.name} {split}: random")
    randoms = collect.random_returns(
        spec, tasks, episodes=config.episodes, seed=config.seed, advance=progress.advance
    )
    reference, solved = family_reference(spec), solved_level(spec)
    results.tasks += [
        TaskRecord(spec.id, split, t.id, t.as_dict(), r, family_reference=reference, solved_return=solved)
        for t, r in zip(tasks, randoms, strict=True)
    ]
    for lr in p.runs:
        progress.describe(f"{spec.name} {split}: {lr.record.label} s{lr.record.seed}")
        played = _play(lr, spec, tasks, config, progress)
        results.episodes += collect.episode_rows(lr.record.id, spec.id, split, tasks, played)
        results.adaptation.append(
            collect.adaptation_curve(lr.record.id, spec, split, played, lr.record.trial_episodes)
        )


def _collect_grid(p: SpecPlan, config: EvalConfig, progress: Progress) -> collect.GridResult:
    assert config.grid is not None
    spec = p.spec
    grid, cells = collect.grid_layout(spec, config.grid, config.grid_size)
    tasks = [t for t in cells if t is not None]
    progress.describe(f"{spec.name} grid: random")
    randoms = collect.random_returns(
        spec, tasks, episodes=config.episodes, seed=config.seed, advance=progress.advance
    )
    grid.random_return = collect.grid_values(grid, cells, randoms)
    grid.family_reference = family_reference(spec)
    for lr in p.runs:
        progress.describe(f"{spec.name} grid: {lr.record.label} s{lr.record.seed}")
        played = _play(lr, spec, tasks, config, progress)
        means = [0.0] * len(tasks)
        for e in played:
            means[e.task_index] += e.ret / config.episodes
        grid.returns[lr.record.id] = collect.grid_values(grid, cells, means)
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
            cells = collect.grid_layout(p.spec, config.grid, config.grid_size)[1]
            total += sum(t is not None for t in cells) * per_list
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
    target = Path(out) if out is not None else default_output(paths, deploy_as=config.deploy_as)
    with rundir.lock_enclosing_run(target), lock_folder(target):
        check_output_dir(target)
        with atomic_dir(target) as tmp, torch_threads(config.num_threads):
            with Progress(_task_count(plans, config), config.progress) as progress:
                results = collect_results(plans, config, progress)
            analyze(results)
            if config.video:
                results.videos = record_videos(plans, config, tmp)
            write_outputs(results, tmp, title="Evaluation report", figures=config.figures)
    return results, target


def compare(
    inputs: Sequence[str | Path],
    config: EvalConfig | None = None,
    out: str | Path | None = None,
    *,
    adopt_protocol: bool = True,
    notes: Sequence[str] = (),
) -> tuple[Results, Path]:
    """Merge evaluations (``results.json`` files or folders) and runs (evaluated here) into one
    table by method x split, with one set of pictures.

    Every input must share the protocol (episodes, seed, deterministic actions), so that the
    numbers compare. Runs are evaluated with ``config``, whose protocol is first taken from
    the first results given when ``adopt_protocol`` is set. ``notes`` are listed with the
    report's own notes.
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
    _refuse_an_input_as_output(inputs, target)
    with lock_folder(target):
        check_output_dir(target)
        with atomic_dir(target) as tmp, torch_threads(config.num_threads):
            if plans:
                with Progress(_task_count(plans, config), config.progress) as progress:
                    parts.append(collect_results(plans, config, progress))
            results = analyze(merge_results(parts, config.bootstrap_reps))
            results.notes.extend(n for n in notes if n not in results.notes)
            write_outputs(results, tmp, title="Comparison report", figures=config.figures)
    return results, target


def _refuse_an_input_as_output(inputs: Sequence[str | Path], target: Path) -> None:
    """An evaluation being compared is not replaced by the comparison (``--out`` one of the
    inputs, or the folder of a ``results.json`` given), which would lose its own report."""
    resolved = target.resolve()
    for item in inputs:
        path = Path(item).resolve()
        if resolved == (path.parent if path.is_file() else path):
            raise ConfigError(
                f"--out {target} is an input of the comparison; write the comparison to another folder"
            )


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
