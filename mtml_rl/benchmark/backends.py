"""Where trials run: a local process pool, or one Ray task per trial.

Both backends call ``on_done(trial, outcome)`` in the driver as each trial ends, in
completion order, so the manifest and the progress bar follow along. Workers register the
method objects the driver registered (they must pickle: defined in an importable module),
so a method registered in the driver's code trains there too. A worker that dies
(killed, out of memory) becomes a failed outcome of its trial; the others go on.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import tarfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.evaluation import MARKER_FILE
from mtml_rl.benchmark.ray_connection import import_ray, ray_session
from mtml_rl.benchmark.trials import FAILED, FINISHED, Trial, TrialOutcome, read_json_or_none
from mtml_rl.lifetime import exit_with_parent
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


def run_local(
    trials: Sequence[Trial], workers: int, threads: int, trial_fn: TrialFn, on_done: OnDone
) -> None:
    """Run ``trials`` in a spawn-context process pool of ``workers`` processes.

    :param trials: the trials to run
    :param workers: parallel processes
    :param threads: torch threads per process
    :param trial_fn: the function each worker runs (module-level, importable by name)
    :param on_done: called as each trial ends
    """
    if not trials:
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(trials)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(threads, os.getpid(), registered_methods()),
    )
    futures: dict[Future[TrialOutcome], Trial] = {}
    try:
        futures = {pool.submit(trial_fn, trial): trial for trial in trials}
        for future in as_completed(futures):
            on_done(futures[future], _local_outcome(future, futures[future]))
    except BaseException:
        _end_workers(pool)
        raise
    pool.shutdown(wait=True)


MANAGER_EXIT_TIMEOUT_S = 30.0
"""How long :func:`_end_workers` waits for the pool's manager thread once its workers are killed."""


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers at once (Ctrl-C, SIGTERM, an error of
    the driver): the running trials end as a crash ends them, which they survive, instead of
    the driver waiting, at its exit, for trials of hours to finish.

    Returns once the pool's manager thread has ended (it does so as soon as it sees its workers
    dead), so that the interpreter's exit finds the pool wholly closed: in Python versions
    without the fix of CPython gh-125451 (3.11 among them), the exit hook of
    ``concurrent.futures`` could write to the manager's wake-up pipe while that thread was
    closing it and print a traceback (``OSError: Bad file descriptor``) after the driver's
    one-line message."""
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
    kill_workers = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill_workers is not None:
        kill_workers()
    else:  # the pool's own record of its processes (shutdown forgets it)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    if manager is not None:
        manager.join(MANAGER_EXIT_TIMEOUT_S)


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


def _pack(trial: Trial) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for folder in (Path(trial.run_dir), Path(trial.eval_dir)):
            if folder.is_dir():
                tar.add(
                    folder,
                    arcname=f"{folder.parent.name}/{folder.name}",
                    filter=lambda m: None if "/checkpoints" in m.name else m,
                )
    return buffer.getvalue()


def run_packed(trial: Trial, trial_fn: TrialFn, methods: Sequence[Method] = ()) -> PackedOutcome:
    """Run a trial on a Ray worker (knowing the driver's registered ``methods``) and pack what
    it wrote, for drivers that don't share its disk."""
    register_methods(methods)
    outcome = trial_fn(trial)
    return PackedOutcome(outcome, _pack(trial) if outcome.status == FINISHED else b"")


def unpack(trial: Trial, archive: bytes) -> None:
    """Write a packed trial's folders where the driver expects them, unless they are there
    already (a shared file system)."""
    status = read_json_or_none(Path(trial.run_dir) / "run.json") or {}
    evaluated = trial.evaluation is None or (Path(trial.eval_dir) / MARKER_FILE).is_file()
    if not archive or (status.get("status") == FINISHED and evaluated):
        return
    for folder in (trial.run_dir, trial.eval_dir):
        shutil.rmtree(folder, ignore_errors=True)
    root = Path(trial.run_dir).parent.parent
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(root, filter="data")


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
        pending = {task.options(name=f"mtml-rl {t.name}").remote(t, trial_fn, methods): t for t in trials}
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


def _ray_outcome(ray: Any, ref: Any, trial: Trial) -> TrialOutcome:
    try:
        packed: PackedOutcome = ray.get(ref)
    except Exception as exc:  # RayTaskError, WorkerCrashedError, TaskCancelledError ...
        return failed(trial, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    unpack(trial, packed.archive)
    return packed.outcome
