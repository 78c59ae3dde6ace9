"""``<out>/trials.json``: every trial of a benchmark with its status and last error.

The manifest is the benchmark's memory across invocations: a failed trial keeps its
error text and traceback until a later run finishes it. Whether a trial is done is
decided from its run directory (``run.json``) and evaluation, not from the manifest,
so a deleted run is retrained even if the manifest says it finished.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.trials import FAILED, FINISHED, Trial, TrialOutcome
from mtml_rl.io import atomic_write_json, record_problem, set_aside_damaged

MANIFEST_FILE = "trials.json"
MANIFEST_VERSION = 1
PENDING = "pending"
SCHEDULED = "scheduled"
"""Handed to the backend by the current invocation: queued, or running in a worker."""
INTERRUPTED = "interrupted"


@dataclass
class TrialRecord:
    """A trial's entry in the manifest.

    :param name: ``<spec>-<method>-s<seed>``
    :param env: spec id or absolute spec path
    :param method: the method
    :param seed: the seed
    :param run_dir: absolute run directory
    :param status: ``pending``, ``scheduled`` (queued or running), ``finished``, ``failed`` or
        ``interrupted``
    :param error: the last failure's ``"<Type>: <message>"`` (``None`` once finished)
    :param traceback: the last failure's traceback
    :param attempts: how many times it was started
    :param wall_s: seconds of the last attempt
    :param updated: when the entry last changed (ISO 8601, UTC)
    """

    name: str
    env: str
    method: str
    seed: int
    run_dir: str
    status: str = PENDING
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    wall_s: float = 0.0
    updated: str = field(default_factory=lambda: _now())


DAMAGED_MANIFEST = "trials.damaged.json"
"""The name a damaged manifest is kept under when a benchmark begins a new one
(:func:`~mtml_rl.io.set_aside_damaged`)."""


def read_records(path: Path) -> dict[str, TrialRecord] | str:
    """The entries of the manifest at ``path`` by name (none if there is no manifest or it
    cannot be read), or what is wrong with it: a manifest must be a JSON object whose
    ``trials`` are objects with :class:`TrialRecord`'s fields, of their types
    (:func:`~mtml_rl.io.record_problem`)."""
    try:
        data = json.loads(path.read_bytes())
    except OSError:
        return {}
    except (ValueError, RecursionError):
        return "not JSON"
    trials = data.get("trials") if isinstance(data, dict) else None
    if not isinstance(trials, list):
        return "no list of trials"
    records: dict[str, TrialRecord] = {}
    for entry in trials:
        problem = record_problem(TrialRecord, entry)
        if problem:
            return f"a trial's entry: {problem}"
        records[entry["name"]] = TrialRecord(**entry)
    return records


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Manifest:
    """The trials of one benchmark folder, saved atomically after every change.

    :param path: the ``trials.json`` file
    :param benchmark: the benchmark config (plain data) recorded with it
    :param records: the trials' entries by name
    """

    def __init__(self, path: Path, benchmark: dict[str, Any], records: dict[str, TrialRecord]) -> None:
        self.path = path
        self.benchmark = benchmark
        self.records = records

    @classmethod
    def open(cls, path: Path, benchmark: dict[str, Any], trials: list[Trial]) -> Manifest:
        """Load ``path`` (if any) and add the entries of ``trials`` it lacks; an entry of a
        trial of this grid gets the run folder the trial uses now (``finetune``'s, once it deploys
        ``dr``'s run); entries of trials outside this grid (a narrower rerun) are kept as they were."""
        records = read_records(path)
        if isinstance(records, str):  # the trials' status is read from their runs, as without it
            kept = set_aside_damaged(path)
            print(
                f"note: {path} is damaged ({records}); kept as {kept.name}, and a new one is begun from "
                "the trials' run folders",
                file=sys.stderr,
            )
            records = {}
        for t in trials:
            records.setdefault(
                t.name, TrialRecord(t.name, t.env, t.method, t.seed, t.run_dir)
            ).run_dir = t.run_dir
        return cls(path, benchmark, records)

    def save(self) -> None:
        """Write the manifest."""
        atomic_write_json(
            self.path,
            {
                "version": MANIFEST_VERSION,
                "benchmark": self.benchmark,
                "updated": _now(),
                "trials": [asdict(r) for r in self.records.values()],
            },
        )

    def mark(self, name: str, status: str, *, started: bool = False) -> None:
        """Set a trial's status (``started`` counts an attempt)."""
        record = self.records[name]
        record.status = status
        record.attempts += int(started)
        record.updated = _now()
        if status == FINISHED:
            record.error = record.traceback = None

    def record(self, outcome: TrialOutcome) -> None:
        """Store a trial's outcome and save."""
        record = self.records[outcome.name]
        record.status = outcome.status
        record.wall_s = round(outcome.wall_s, 2)
        record.updated = _now()
        if outcome.status == FAILED:
            record.error, record.traceback = outcome.error, outcome.traceback
        else:
            record.error = record.traceback = None
        self.save()
