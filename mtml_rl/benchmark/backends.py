"""Where trials run: a local process pool, or one Ray task per trial.

Both backends call ``on_done(trial, outcome)`` in the driver as each trial ends, in
completion order, so the manifest and the progress bar follow along. Workers register the
method objects the driver registered (they must pickle: defined in an importable module),
so a method registered in the driver's code trains there too. A worker that dies
(killed, out of memory) becomes a failed outcome of its trial; the others go on. A trial that
deploys another trial's run (:attr:`~mtml_rl.benchmark.trials.Trial.trained_by`) starts once
that trial has ended, if it runs in the same invocation.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import tarfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.evaluation import MARKER_FILE
from mtml_rl.benchmark.ray_connection import import_ray, ray_session
from mtml_rl.benchmark.trials import FAILED, FINISHED, Trial, TrialOutcome
from mtml_rl.io import MANIFEST_FILE, atomic_dir
from mtml_rl.lifetime import end_pool_workers, exit_with_parent
from mtml_rl.methods import Method, register_method, registered_methods

TrialFn = Callable[[Trial], TrialOutcome]
"""What a worker runs for a trial (:func:`mtml_rl.benchmark.trials.run_trial`)."""
OnDone = Callable[[Trial, TrialOutcome], None]
"""Called in the driver when a trial ends."""


def failed(trial: Trial, error: str) -> TrialOutcome:
    """A failed outcome for a trial whose worker could not report one itself."""
    return TrialOutcome(trial.name, FAILED, error=error)


def _init_worker(threads: int, driver_pid: int, methods: Sequence[Method] = ()) -> None:
    """Pool initializer: the worker ends with its driver (a killed driver leaves no orphan to
    take the next trial or race a rerun), uses ``threads`` torch threads, so workers don't
    oversubscribe, and knows the methods the driver registered."""
    exit_with_parent(driver_pid)
    import torch as th

    th.set_num_threads(threads)
    register_methods(methods)


def register_methods(methods: Sequence[Method]) -> None:
    """Register in a worker the method objects the driver registered (:func:`registered_methods`)."""
    for method in methods:
        register_method(method, replace=True)


def dependents(trials: Sequence[Trial]) -> dict[str, list[Trial]]:
    """The trials that deploy another trial's run, by the name of that trial, where it is among
    ``trials`` (one trained before is there to deploy at once)."""
    names = {t.name for t in trials}
    waiting: dict[str, list[Trial]] = {}
    for trial in trials:
        if trial.trained_by is not None and trial.trained_by in names:
            waiting.setdefault(trial.trained_by, []).append(trial)
    return waiting


class ReadyTrials:
    """The trials a pool may start now, in the order given: each that deploys another trial's
    run (where that trial is among them) joins once that trial has ended."""

    def __init__(self, trials: Sequence[Trial]) -> None:
        self._rank = {t.name: i for i, t in enumerate(trials)}
        self._waiting = dependents(trials)
        held = {t.name for group in self._waiting.values() for t in group}
        self._ready = [t for t in trials if t.name not in held]

    def next(self) -> Trial | None:
        """The first trial ready to start, taken from the queue; ``None`` if none is."""
        return self._ready.pop(0) if self._ready else None

    def ended(self, trial: Trial) -> None:
        """``trial`` ended: the trials that deploy its run are ready, in their place."""
        self._ready.extend(self._waiting.pop(trial.name, []))
        self._ready.sort(key=lambda t: self._rank[t.name])


def run_local(
    trials: Sequence[Trial], workers: int, threads: int, trial_fn: TrialFn, on_done: OnDone
) -> None:
    """Run ``trials`` in a spawn-context process pool of ``workers`` processes.

    The pool is handed a trial only when a worker is free, the first ready one in the order
    given (:class:`ReadyTrials`), so a trial released late by the trial whose run it deploys
    still starts before the ready trials given after it. A pool broken by a worker's death
    fails the trials it was running and is replaced for the rest.

    :param trials: the trials to run, in the order to start them
    :param workers: parallel processes
    :param threads: torch threads per process
    :param trial_fn: the function each worker runs (module-level, importable by name)
    :param on_done: called as each trial ends
    """
    if not trials:
        return
    slots = min(workers, len(trials))
    context = multiprocessing.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        initargs = (threads, os.getpid(), registered_methods())
        return ProcessPoolExecutor(slots, mp_context=context, initializer=_init_worker, initargs=initargs)

    pool = new_pool()
    ready = ReadyTrials(trials)
    futures: dict[Future[TrialOutcome], Trial] = {}
    try:
        while True:
            while len(futures) < slots and (trial := ready.next()) is not None:
                try:
                    futures[pool.submit(trial_fn, trial)] = trial
                except BrokenProcessPool:
                    pool.shutdown(wait=False)
                    pool = new_pool()
                    futures[pool.submit(trial_fn, trial)] = trial
            if not futures:
                break
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                trial = futures.pop(future)
                on_done(trial, _local_outcome(future, trial))
                ready.ended(trial)
    except BaseException:
        end_pool_workers(pool)
        raise
    pool.shutdown(wait=True)


def _local_outcome(future: Future[TrialOutcome], trial: Trial) -> TrialOutcome:
    try:
        return future.result()
    except BrokenProcessPool:
        return failed(
            trial, "WorkerDied: the worker process running it (or a peer) died: killed or out of memory?"
        )
    except Exception as exc:
        return failed(trial, f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackedOutcome:
    """A Ray trial's outcome with its run and evaluation folders packed (``tar.gz``).

    :param outcome: the trial's outcome
    :param archive: its folders relative to the benchmark folder (checkpoints left out)
    """

    outcome: TrialOutcome
    archive: bytes


def written_folders(trial: Trial) -> tuple[str, ...]:
    """The folders a trial writes: its run and evaluation, or only its evaluation where it
    deploys another trial's run."""
    return (trial.eval_dir,) if trial.trained_by is not None else (trial.run_dir, trial.eval_dir)


def pack_folders(folders: Sequence[str]) -> bytes:
    """Folders of one benchmark folder as a ``tar.gz`` (named ``runs/<name>``,
    ``eval/<name>``), checkpoints left out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for folder in map(Path, folders):
            if folder.is_dir():
                tar.add(
                    folder,
                    arcname=_archive_name(folder),
                    filter=lambda m: None if "/checkpoints" in m.name else m,
                )
    return buffer.getvalue()


def _archive_name(folder: str | Path) -> str:
    return f"{Path(folder).parent.name}/{Path(folder).name}"


def run_packed(
    trial: Trial, trial_fn: TrialFn, methods: Sequence[Method] = (), source_run: PackedOutcome | bytes = b""
) -> PackedOutcome:
    """Run a trial on a Ray worker (knowing the driver's registered ``methods``) and pack what
    it wrote, for drivers that don't share its disk.

    :param source_run: for a trial that deploys another trial's run, that run, packed: the
        other trial's outcome (Ray hands it over once that task has ended), or the driver's
        copy of a run trained before; unpacked here unless this worker's disk has it finished
    """
    register_methods(methods)
    if trial.trained_by is not None:
        archive = source_run.archive if isinstance(source_run, PackedOutcome) else source_run
        unpack_differing(archive, (trial.run_dir,))
    outcome = trial_fn(trial)
    return PackedOutcome(outcome, pack_folders(written_folders(trial)) if outcome.status == FINISHED else b"")


def unpack(trial: Trial, archive: bytes) -> None:
    """Write a packed trial's folders where the driver expects them (:func:`unpack_differing`)."""
    unpack_differing(archive, written_folders(trial))


def unpack_differing(archive: bytes, folders: Sequence[str]) -> None:
    """Replace each of ``folders`` with its copy in ``archive`` unless the copy here is the
    packed one already (a shared file system, whose run keeps its checkpoints).

    A folder is the packed one when its identifying file is the same bytes: a run's
    ``final/manifest.json`` (which hashes every file of its final model), an evaluation's
    marker (its settings, its run and deployment). A stale copy on a disk the worker does not
    share (an evaluation made with other settings, a run trained again) is replaced; a folder
    the archive lacks is left as it is."""
    if not archive:
        return
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        packed = {f: _packed_bytes(tar, f) for f in folders}
    differing = [f for f in folders if packed[f] is not None and packed[f] != _local_bytes(f)]
    if differing:
        _unpack_folders(archive, differing)


IDENTIFYING_FILES = {"runs": f"final/{MANIFEST_FILE}", "eval": MARKER_FILE}
"""The file that identifies what a run or evaluation folder holds, by the benchmark subfolder."""


def _identifying_file(folder: str) -> str:
    return f"{_archive_name(folder)}/{IDENTIFYING_FILES[Path(folder).parent.name]}"


def _packed_bytes(tar: tarfile.TarFile, folder: str) -> bytes | None:
    try:
        member = tar.extractfile(_identifying_file(folder))
    except KeyError:
        return None
    return member.read() if member is not None else None


def _local_bytes(folder: str) -> bytes | None:
    try:
        return (Path(folder).parent.parent / _identifying_file(folder)).read_bytes()
    except OSError:
        return None


def _unpack_folders(archive: bytes, folders: Sequence[str]) -> None:
    """Replace ``folders`` with their copies in ``archive`` (which may hold others, left out);
    nothing for an empty archive. Each is unpacked under a temporary name and put in place
    whole (:func:`~mtml_rl.io.atomic_dir`): a driver killed while it unpacks keeps the folder
    as it was, where deleting it first and then unpacking left half of a finished trial."""
    if not archive:
        return
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        members = tar.getmembers()
        for folder in folders:
            with atomic_dir(folder) as building:
                tar.extractall(building, members=_inside(members, folder), filter="data")


def _inside(members: Sequence[tarfile.TarInfo], folder: str) -> list[tarfile.TarInfo]:
    """The members of ``folder``'s copy in an archive, named relative to it."""
    prefix = f"{_archive_name(folder)}/"
    return [m.replace(name=m.name[len(prefix) :]) for m in members if m.name.startswith(prefix)]


def run_ray(
    trials: Sequence[Trial],
    address: str | None,
    threads: int,
    trial_fn: TrialFn,
    on_done: OnDone,
    num_cpus: int | None = None,
) -> None:
    """Run one Ray task per trial, each declaring ``threads`` CPUs; gather results as they end.

    :param trials: the trials to run
    :param address: the cluster (``None``: start a local one)
    :param threads: CPUs declared per task (and torch threads in it)
    :param trial_fn: the function each task runs
    :param on_done: called as each trial ends
    :param num_cpus: CPUs of a local cluster this call starts (``None``: all)
    """
    if not trials:
        return
    ray = import_ray()
    with ray_session(address, num_cpus):
        task = ray.remote(num_cpus=threads, max_retries=0)(run_packed)
        methods = registered_methods()
        pending: dict[Any, Trial] = {}
        refs: dict[str, Any] = {}
        for t in _sources_first(trials):
            ref = task.options(name=f"mtml-rl {t.name}").remote(t, trial_fn, methods, _source_run(t, refs))
            refs[t.name] = ref
            pending[ref] = t
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    trial = pending.pop(ref)
                    on_done(trial, _ray_outcome(ray, ref, trial))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


def _sources_first(trials: Sequence[Trial]) -> list[Trial]:
    """``trials`` with each that deploys another's run after that one (their order otherwise kept)."""
    held = {t.name for group in dependents(trials).values() for t in group}
    return [t for t in trials if t.name not in held] + [t for t in trials if t.name in held]


def _source_run(trial: Trial, refs: dict[str, Any]) -> Any:
    """The run a trial deploys, for its Ray task: the pending task's result (an object ref,
    which Ray resolves once that task has ended), or the driver's copy packed now (a run trained
    in an earlier invocation); ``b""`` for a trial that trains its own run."""
    if trial.trained_by is None:
        return b""
    if trial.trained_by in refs:
        return refs[trial.trained_by]
    return pack_folders((trial.run_dir,))


def _ray_outcome(ray: Any, ref: Any, trial: Trial) -> TrialOutcome:
    try:
        packed: PackedOutcome = ray.get(ref)
    except Exception as exc:  # RayTaskError, WorkerCrashedError, TaskCancelledError ...
        return failed(trial, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    unpack(trial, packed.archive)
    return packed.outcome
