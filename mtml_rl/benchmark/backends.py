"""Where trials run: a local process pool, or one Ray task per trial.

Both backends call ``on_done(trial, outcome)`` in the driver as each trial ends, in
completion order, so the manifest and the progress bar follow along. Workers register the
method objects the driver registered (they must pickle: defined in an importable module),
so a method registered in the driver's code trains there too. A worker that dies
(killed, out of memory) becomes a failed outcome of its trial; the others go on.
"""

from __future__ import annotations

import importlib
import io
import multiprocessing
import os
import shutil
import socket
import sys
import tarfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.evaluation import MARKER_FILE
from mtml_rl.benchmark.trials import FAILED, FINISHED, Trial, TrialOutcome, read_json_or_none
from mtml_rl.errors import ConfigError
from mtml_rl.lifetime import exit_with_parent
from mtml_rl.methods import Method, register_method, registered_methods

TrialFn = Callable[[Trial], TrialOutcome]
"""What a worker runs for a trial (:func:`mtml_rl.benchmark.trials.run_trial`)."""
OnDone = Callable[[Trial, TrialOutcome], None]
"""Called in the driver when a trial ends."""
PROBE_TIMEOUT_S = 5.0
"""Seconds to wait for a Ray address to accept a connection before giving up."""


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


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers at once (Ctrl-C, SIGTERM, an error of
    the driver): the running trials end as a crash ends them, which they survive, instead of
    the driver waiting, at its exit, for trials of hours to finish."""
    kill_workers = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill_workers is not None:
        kill_workers()
    else:  # the pool's own record of its processes (shutdown forgets it)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


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
def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'mtml-rl[ray]'") from None
    return ray


def probe_address(address: str) -> None:
    """Fail fast (``ConfigError``) if ``host:port`` (or ``ray://host:port``) accepts no connection.

    ``ray.init`` itself retries an unreachable address for minutes.
    """
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} is not host:port, ray://host:port or auto; "
            "`ray status` on the head node shows it"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` and pass the address it prints, or use --address auto on a cluster node"
        ) from None


AUTH_MODE_VAR = "RAY_AUTH_MODE"
"""Ray's switch of token authentication (``token`` or ``disabled``; Ray 2.52 and later)."""
TOKEN_HINT = (
    "if the cluster uses token authentication (`ray start` turns it on when a token exists), "
    "give this driver the cluster's token: `ray get-auth-token` on the head node prints it; set "
    "RAY_AUTH_TOKEN to it (or RAY_AUTH_TOKEN_PATH to a file holding it, or copy it to "
    "~/.ray/auth_token)"
)


def ray_token_available() -> bool:
    """Whether a Ray authentication token is at hand: ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``
    or the default token file ``~/.ray/auth_token``, in Ray's order."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").is_file()


def use_ray_token() -> bool:
    """Turn on Ray's token authentication for this driver when a token is at hand and
    ``RAY_AUTH_MODE`` is unset; returns whether token authentication is on.

    Ray does this itself for ``address="auto"`` only; a driver given an explicit address would
    otherwise send no token, and a cluster with authentication on refuses it. Sending a token
    to a cluster without authentication is harmless.
    """
    mode = os.environ.get(AUTH_MODE_VAR)
    if mode is not None:
        return mode.strip().lower() == "token"
    if not ray_token_available():
        return False
    os.environ[AUTH_MODE_VAR] = "token"
    if "ray" in sys.modules:  # an imported Ray read its configuration already: refresh it
        try:
            importlib.import_module("ray._raylet").Config.initialize("")
        except (ImportError, AttributeError):
            pass
    return True


def connect_ray(address: str | None, num_cpus: int | None) -> bool:
    """Connect to (or start) Ray; returns whether this call initialized it (and must shut it down).

    An already initialized Ray in this process is reused. For an explicit address, the
    address is probed first (an unreachable one fails at once), and a Ray token at hand is
    used (:func:`use_ray_token`).
    """
    explicit = address not in (None, "auto", "local")
    if explicit:
        probe_address(str(address))
        use_ray_token()
    ray = _import_ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
    if address in (None, "local"):
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except Exception as exc:
        where = f"at {address}" if address else "locally"
        hint = f"; {TOKEN_HINT}" if address not in (None, "local") else ""
        raise ConfigError(
            f"cannot start or reach Ray {where}: {type(exc).__name__}: {_first_line(exc)}{hint}"
        ) from None
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


@contextmanager
def ray_session(address: str | None, num_cpus: int | None) -> Iterator[None]:
    """Be connected to Ray inside the block (see :func:`connect_ray`); a Ray this call started
    is shut down at the end, one already initialized is left running."""
    owned = connect_ray(address, num_cpus)
    try:
        yield
    finally:
        if owned:
            _import_ray().shutdown()


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
    ray = _import_ray()
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
