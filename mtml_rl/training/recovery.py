"""Where a run goes on from after any crash: the newest saved model folder that verifies
(``final/`` or a periodic checkpoint), whether the run is finished, and the best model's
record (refused if damaged, so that a worse model never replaces it)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from mtml_rl.errors import CheckpointError
from mtml_rl.training import rundir
from mtml_rl.training.rundir import Checkpoint

BEST_RECORD = "eval.json"
"""The best model's evaluation record inside ``best/``."""


@dataclass(frozen=True)
class ResumePlan:
    """What a resume loads and what is left to do.

    :param source: the folder the model is loaded from (the newest that verifies; at equal
        steps the periodic checkpoint, which holds the replay buffer)
    :param final_steps: the steps of ``final/`` if it verifies (``None``: it does not)
    :param finished: ``run.json`` says finished and ``final/`` verifies
    :param skipped: folders passed over because they do not verify, with what is wrong
    """

    source: Checkpoint
    final_steps: int | None
    finished: bool
    skipped: dict[Path, str] = field(default_factory=dict)


def plan_resume(path: Path) -> ResumePlan:
    """The :class:`ResumePlan` of the run in ``path``.

    :raises CheckpointError: no saved model verifies (each damaged one named)
    """
    skipped = rundir.damaged_checkpoints(path)
    final = path / "final"
    final_steps = None
    if final.is_dir():
        problem = rundir.checkpoint_problem(final)
        if problem is None:
            final_steps = rundir.read_meta(final)[0]
        else:
            skipped[final] = problem
    candidates = rundir.list_checkpoints(path)
    if final_steps is not None and (not candidates or candidates[-1].steps < final_steps):
        candidates.append(Checkpoint(final, final_steps))
    if not candidates:
        detail = "".join(f"; {folder.name}: {problem}" for folder, problem in skipped.items())
        raise CheckpointError(
            f"{path} has no complete checkpoint under checkpoints/ and no whole final/{detail}; "
            "it cannot be resumed (train again with --force)"
        )
    finished = final_steps is not None and rundir.read_status(path) == "finished"
    return ResumePlan(candidates[-1], final_steps, finished, skipped)


def recorded_best(path: Path) -> float:
    """The train return of the run's best model so far (``-inf``: it has none).

    :raises CheckpointError: ``best/`` exists but does not verify, or its record is not a
        finite return: going on would let any model replace it
    """
    best = path / "best"
    if not best.exists():
        return -math.inf
    problem = rundir.checkpoint_problem(best, (BEST_RECORD,))
    value = None
    if problem is None:
        try:
            record = json.loads((best / BEST_RECORD).read_text(encoding="utf-8"))
            value = record["train_return_mean"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"{BEST_RECORD} is not a record ({exc})"
    if problem is None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    ):
        problem = f"{BEST_RECORD} records train_return_mean {value!r}, not a finite number"
    if problem is not None:
        raise CheckpointError(
            f"{best}: {problem}; the run cannot tell which model is better: restore best/, or "
            "delete it to let this run choose its best model again"
        )
    return float(value)  # type: ignore[arg-type]


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
