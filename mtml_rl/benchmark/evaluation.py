"""The benchmark's evaluation step, behind two functions.

:func:`evaluate_trial` evaluates one finished run (in the trial's worker) and
:func:`compare_trials` aggregates every trial's evaluation into one report (in the
driver). Both are deliberately small: they are the only places the benchmark touches
evaluation, so that they can delegate to :mod:`mtml_rl.evaluation`'s ``evaluate`` and
``compare`` once those exist. Until then they roll agents out with
:func:`mtml_rl.evaluation.rollout.rollout_agent` and report interim scores
(:mod:`mtml_rl.benchmark.interim`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtml_rl.benchmark.interim import Comparison, compare_summaries, evaluate_run
from mtml_rl.io import atomic_dir, atomic_write_json

SUMMARY_FILE = "summary.json"
"""The per-trial evaluation file (in the trial's evaluation folder)."""


def evaluation_is_current(eval_dir: Path, settings: dict[str, Any]) -> bool:
    """Whether ``eval_dir`` holds an evaluation made with ``settings``."""
    try:
        recorded = json.loads((eval_dir / SUMMARY_FILE).read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(recorded == settings)


def evaluate_trial(run_dir: Path, eval_dir: Path, settings: dict[str, Any]) -> Path:
    """Evaluate the finished run in ``run_dir`` into ``eval_dir`` (written whole or not at all).

    :param run_dir: a finished run directory
    :param eval_dir: where its evaluation goes
    :param settings: ``splits``, ``episodes``, ``seed`` and ``deterministic``
    :return: the evaluation file
    """
    summary = evaluate_run(run_dir, settings)
    summary["settings"] = settings
    with atomic_dir(eval_dir) as tmp:
        atomic_write_json(tmp / SUMMARY_FILE, summary)
    return eval_dir / SUMMARY_FILE


def compare_trials(eval_dirs: Sequence[Path], report_dir: Path, title: str) -> Comparison:
    """Aggregate the trials' evaluations into ``report_dir`` (report.md, results.json/csv, PNGs).

    :param eval_dirs: the evaluation folders of the finished trials
    :param report_dir: where the report goes (replaced whole)
    :param title: the report's title
    """
    summaries = [json.loads((Path(d) / SUMMARY_FILE).read_text()) for d in eval_dirs]
    return compare_summaries(summaries, report_dir, title)
