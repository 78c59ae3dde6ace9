"""``run_benchmark``: plan the grid, skip what is done, run the rest, then compare."""

from __future__ import annotations

import shutil
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mtml_rl.benchmark.backends import TrialFn, dependents, run_local, run_ray
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.evaluation import Comparison, compare_trials
from mtml_rl.benchmark.manifest import INTERRUPTED, MANIFEST_FILE, SCHEDULED, Manifest, TrialRecord
from mtml_rl.benchmark.ray_connection import ray_session
from mtml_rl.benchmark.trials import (
    FINISHED,
    GridPlan,
    Trial,
    TrialOutcome,
    UnsupportedCell,
    damage,
    plan_grid,
    run_trial,
    trial_done,
)
from mtml_rl.envs.sim_threads import usable_cpus
from mtml_rl.errors import ConfigError, MtmlWarning
from mtml_rl.evaluation.output import RESULTS_FILE, check_output_dir
from mtml_rl.locks import lock_folder
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import rundir
from mtml_rl.training.config import TrainConfig

REPORT_DIR = "report"


@dataclass(frozen=True)
class BenchmarkResult:
    """What a benchmark invocation did.

    :param out_dir: the benchmark folder
    :param records: every trial's manifest entry
    :param ran: trials run (trained and/or evaluated) and finished by this invocation
    :param skipped: trials already done before it
    :param failed: trials that failed (their errors are in ``records`` and ``trials.json``)
    :param comparison: the compare report (``None`` if evaluation is off or nothing finished)
    :param repaired: trials whose files said they were done but did not verify (a damaged model
        or evaluation), with what was wrong; they were run again
    :param unsupported: the (env, method) cells left out because the method does not support
        the env (each also a note of the report)
    :param stale_report: the earlier report this invocation removed and wrote none in its place
        (its evaluations were replaced with evaluation off, or no trial finished)
    """

    out_dir: Path
    records: list[TrialRecord]
    ran: list[str]
    skipped: list[str]
    failed: list[str]
    comparison: Comparison | None
    repaired: dict[str, str] = field(default_factory=dict)
    unsupported: list[UnsupportedCell] = field(default_factory=list)
    stale_report: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether every trial of the grid is finished."""
        return not self.failed


class TrialProgress:
    """A rich progress bar over trials, with one line per ended trial.

    :param total: trials in the grid
    :param enabled: show anything at all
    """

    def __init__(self, total: int, enabled: bool) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            disable=not enabled,
        )
        self.task = self.progress.add_task("", total=total)

    def __enter__(self) -> TrialProgress:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def skipped(self, names: Sequence[str]) -> None:
        """Count trials that were already done."""
        if names and self.enabled:
            self.progress.console.print(f"[dim]skipping {len(names)} finished trial(s)[/dim]")
        self.progress.advance(self.task, len(names))

    def ended(self, outcome: TrialOutcome) -> None:
        """Count a trial that ended and say how."""
        if self.enabled:
            if outcome.status == FINISHED:
                line = f"[green]done[/green]   {outcome.name} ({outcome.wall_s:.0f}s)"
            else:
                line = f"[red]failed[/red] {outcome.name}: {outcome.error}"
            self.progress.console.print(line, markup=True, highlight=False)
        self.progress.update(self.task, advance=1, description=outcome.name)


def run_benchmark(
    config: BenchmarkConfig,
    *,
    force: bool = False,
    retrain_changed: bool = False,
    progress: bool | None = None,
    trial_fn: TrialFn = run_trial,
) -> BenchmarkResult:
    """Run every trial of the grid that is not done yet, then write the compare report.

    Everything that can refuse the grid (its specs, methods, budgets, splits, the Ray
    cluster) is checked before anything is written. The benchmark folder is locked for the
    whole invocation: a second driver on it is refused with the first one's PID.

    :param config: the grid
    :param force: retrain (and re-evaluate) every trial, replacing finished ones
    :param retrain_changed: retrain the trials whose finished runs are not theirs any more
        (another config, other shipped hyperparameters, another spec), keeping the others;
        without it such a run stops the grid with the difference named
    :param progress: show the progress bar (default: when stderr is a terminal)
    :param trial_fn: what a worker runs per trial (module-level; the default trains and evaluates)
    :raises FolderLockedError: another live process holds the benchmark folder
    """
    grid = plan_grid(config)
    trials = [replace(t, retrain_changed=True) for t in grid.trials] if retrain_changed else grid.trials
    with lock_folder(config.out_dir):
        _refuse_a_foreign_folder(config.out_dir)
        report = config.out_dir / REPORT_DIR
        if config.evaluation.enabled:  # before hours of training, not once they are done
            _check_report_folder(report)
        done = [] if force else [t for t in trials if trial_done(t)]
        todo = longest_path_first([t for t in trials if t not in done])
        replaced = [t for t in todo if Path(t.eval_dir).is_dir()]
        if replaced and not config.evaluation.enabled:
            _check_report_folder(report)
        repaired = {} if force else {t.name: r for t in todo if (r := damage(t)) is not None}
        with _backend_session(config, todo):
            config.out_dir.mkdir(parents=True, exist_ok=True)
            if force:
                _clear(trials)
            manifest = _open_manifest(config, trials, done, todo)
            dropped = _drop_stale_report(report) if replaced else False
            ran = _run_trials(config, todo, done, manifest, trial_fn, progress)
        result = _result(config, grid, manifest, ran, [t.name for t in done])
    stale = report if (dropped or result.stale_report) and result.comparison is None else None
    return replace(result, repaired=repaired, stale_report=stale)


def _refuse_a_foreign_folder(folder: Path) -> None:
    """A grid writes into a new folder or goes on in its own; a folder that holds a run or an
    evaluation (what ``train``, ``evaluate`` and ``compare`` write) is refused before anything
    is written. A grid folder that lost its manifest still goes on (its trials are read from
    their run folders)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"the benchmark folder {folder} is a file; choose another out (--out)")
    rundir.refuse_inside_a_run(folder, "a benchmark", "its out (--out)")
    for holds, found in (
        ("a run", rundir.is_run_dir(folder)),
        ("an evaluation", (folder / RESULTS_FILE).is_file()),
    ):
        if found:
            raise ConfigError(
                f"the benchmark folder {folder} holds {holds}, not a benchmark; choose another out (--out)"
            )


def _open_manifest(
    config: BenchmarkConfig, trials: list[Trial], done: list[Trial], todo: list[Trial]
) -> Manifest:
    """The manifest with the done trials finished and the others scheduled, saved."""
    manifest = Manifest.open(config.out_dir / MANIFEST_FILE, config.to_dict(), trials)
    for trial in done:
        manifest.mark(trial.name, FINISHED)
    for trial in todo:
        manifest.mark(trial.name, SCHEDULED, started=True)
    manifest.save()
    return manifest


def _run_trials(
    config: BenchmarkConfig,
    todo: list[Trial],
    done: list[Trial],
    manifest: Manifest,
    trial_fn: TrialFn,
    progress: bool | None,
) -> list[str]:
    """Hand ``todo`` to the backend, recording each outcome; the names of those that finished."""
    ran: list[str] = []
    enabled = sys.stderr.isatty() if progress is None else progress
    with TrialProgress(len(todo) + len(done), enabled) as bar:
        bar.skipped([t.name for t in done])

        def on_done(trial: Trial, outcome: TrialOutcome) -> None:
            manifest.record(outcome)
            bar.ended(outcome)
            if outcome.status == FINISHED:
                ran.append(trial.name)

        try:
            _dispatch(config, todo, trial_fn, on_done)
        except BaseException:
            _mark_interrupted(manifest, todo)
            raise
    return ran


@contextmanager
def _backend_session(config: BenchmarkConfig, todo: list[Trial]) -> Iterator[None]:
    """Connect to Ray (when trials go there) before anything is written; a cluster that
    cannot be reached fails here, leaving the benchmark folder as it was."""
    if config.backend != "ray" or not todo:
        yield
        return
    num_cpus = config.workers * config.threads_per_worker if config.workers else None
    with ray_session(config.address, num_cpus):
        yield


def estimated_cost(trial: Trial) -> int:
    """The work a trial takes, roughly, in sample passes (:mod:`mtml_rl.training.cost`): its
    method's training under its algorithm and hyperparameters, and what the method spends on
    the test tasks it is evaluated on (``finetune``'s clones). A trial that deploys another
    trial's run costs what its method adds to that run's training."""
    spec = resolve_spec(trial.env)
    present = build_splits(spec)  # drawn (and cached) when the grid was planned
    splits = (trial.evaluation or {}).get("splits", ())
    test_tasks = sum(len(present[split]) for split in splits if split in present)  # a spec may lack one
    cost = _method_cost(trial.config, trial, spec, test_tasks)
    if trial.run_config is not None:
        cost -= _method_cost(trial.run_config, trial, spec, test_tasks)
    return max(cost, 0)


def _method_cost(config_data: dict[str, Any], trial: Trial, spec: TaskSpec, test_tasks: int) -> int:
    config = TrainConfig.from_dict(dict(config_data), source=trial.name)
    return config.resolved_method().estimated_cost(config, spec, trial.steps, test_tasks)


def longest_path_first(trials: Sequence[Trial]) -> list[Trial]:
    """``trials`` in the order to start them: by the work on the longest chain each begins
    (its own :func:`estimated_cost`, plus the longest chain of the trials that deploy its run),
    longest first. A trial whose run others deploy goes before trials that cost more alone but
    hold nothing back, so that the pool does not end waiting on a long trial that could only
    start late."""
    costs = {t.name: estimated_cost(t) for t in trials}
    waiting = dependents(trials)

    def chain(trial: Trial) -> int:
        return costs[trial.name] + max((chain(d) for d in waiting.get(trial.name, [])), default=0)

    return sorted(trials, key=chain, reverse=True)


def _dispatch(config: BenchmarkConfig, todo: list[Trial], trial_fn: TrialFn, on_done: Any) -> None:
    threads = config.threads_per_worker
    if config.backend == "ray":
        run_ray(todo, config.address, threads, trial_fn, on_done)
    else:
        workers = config.resolved_workers()
        _warn_oversubscribed(min(workers, len(todo)), threads)
        run_local(todo, workers, threads, trial_fn, on_done)


def _warn_oversubscribed(workers: int, threads: int) -> None:
    """Warn where the local pool's processes ask for more CPU threads than this process may
    run on (``--workers 8`` on 2 cores): they share the cores, so the grid ends no sooner,
    each trial's process holds its memory throughout, and trial times stop meaning much."""
    cores = usable_cpus()
    if workers * threads > cores:
        warnings.warn(
            f"{workers} workers x {threads} torch thread(s) on {cores} usable CPU core(s): the trials "
            "share the cores, so the grid ends no sooner, in more memory, and its trial times are "
            f"inflated; --workers {max(1, cores // threads)} uses each core once",
            MtmlWarning,
            stacklevel=2,
        )


def _clear(trials: Sequence[Trial]) -> None:
    """Delete every trial's run and evaluation (``--force``), each under its run folder's lock,
    so that a worker still writing one (of a driver that died) is never raced."""
    for trial in trials:
        with lock_folder(trial.run_dir):
            shutil.rmtree(trial.run_dir, ignore_errors=True)
            shutil.rmtree(trial.eval_dir, ignore_errors=True)


def _mark_interrupted(manifest: Manifest, todo: Sequence[Trial]) -> None:
    for trial in todo:
        if manifest.records[trial.name].status == SCHEDULED:
            manifest.mark(trial.name, INTERRUPTED)
    manifest.save()


SHOWN_UNFINISHED = 10
"""Trials a report's note names before it counts the rest."""


def _named(trials: list[str]) -> str:
    """The first :data:`SHOWN_UNFINISHED` of ``trials``, then how many more."""
    more = len(trials) - SHOWN_UNFINISHED
    return ", ".join(trials[:SHOWN_UNFINISHED]) + (f" and {more} more" if more > 0 else "")


def incomplete_notes(unfinished: list[str], total: int) -> list[str]:
    """The report's note on trials that did not finish (failed, interrupted), so that a
    report of part of a grid never reads as the whole grid (``[]``: every trial finished)."""
    if not unfinished:
        return []
    named = _named(unfinished)
    return [
        f"incomplete grid: {len(unfinished)} of {total} trials did not finish ({named}); the tables "
        "hold the finished trials only, so those cells have fewer seeds: rerun the same command to "
        "retry them (their errors are in trials.json)"
    ]


def narrower_notes(outside: list[str]) -> list[str]:
    """The report's note on finished trials of the folder that this invocation's grid leaves
    out (a rerun narrowed by ``--envs``, ``--methods`` or ``--seeds``), so that the report of
    a narrower rerun never reads as the folder's whole grid (``[]``: none)."""
    if not outside:
        return []
    named = _named(outside)
    return [
        f"narrower run: the folder holds {len(outside)} finished trial(s) this run's grid leaves out "
        f"({named}), which the tables do not include (a rerun narrowed by --envs, --methods or "
        "--seeds, or a grid file edited since): run the whole grid to report them all"
    ]


def _check_report_folder(report: Path) -> None:
    """Refuse a report folder that holds anything but an earlier report (replacing or
    removing it would delete those files)."""
    check_output_dir(report, "the grid's report folder", "give the grid another --out")


def _drop_stale_report(report: Path) -> bool:
    """Remove the report of an earlier run of the grid that no longer describes it: before
    trials whose evaluations it pooled are trained or evaluated again (an interrupted or
    evaluation-less rerun left it naming runs that were replaced), and when no trial of this
    run finished (its tables, of other trials or settings, must not stay to read as this
    run's). The folder was checked to hold only an evaluation's files before any trial ran; it
    leaves whole, moved aside first; whether there was one."""
    if not report.is_dir():
        return False
    with lock_folder(report):
        aside = report.with_name(f".{report.name}.stale")
        shutil.rmtree(aside, ignore_errors=True)
        report.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    return True


def _finished_outside(manifest: Manifest, trials: Sequence[Trial]) -> list[str]:
    """The finished trials the manifest records that are not among ``trials``."""
    inside = {t.name for t in trials}
    return [r.name for r in manifest.records.values() if r.name not in inside and r.status == FINISHED]


def _result(
    config: BenchmarkConfig, grid: GridPlan, manifest: Manifest, ran: list[str], skipped: list[str]
) -> BenchmarkResult:
    trials = grid.trials
    finished = [t for t in trials if manifest.records[t.name].status == FINISHED]
    failed = [t.name for t in trials if manifest.records[t.name].status != FINISHED]
    comparison = None
    stale = None
    settings = finished[0].evaluation if finished else None
    if settings is not None:
        comparison = compare_trials(
            [Path(t.eval_dir) for t in finished],
            config.out_dir / REPORT_DIR,
            settings,
            config.evaluation.bootstrap_reps,
            figures=config.evaluation.figures,
            notes=[
                *(cell.note for cell in grid.unsupported),
                *incomplete_notes(failed, len(trials)),
                *narrower_notes(_finished_outside(manifest, trials)),
            ],
        )
    elif config.evaluation.enabled and _drop_stale_report(config.out_dir / REPORT_DIR):
        stale = config.out_dir / REPORT_DIR
    records = [manifest.records[t.name] for t in trials]
    return BenchmarkResult(
        config.out_dir,
        records,
        ran,
        skipped,
        failed,
        comparison,
        unsupported=list(grid.unsupported),
        stale_report=stale,
    )
