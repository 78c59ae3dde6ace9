"""Training throughput as the speed scripts in ``scripts/`` measure it.

Each case trains in a fresh interpreter (so imports, caches and peak memory are its own)
with ``model.learn`` timed alone, wall clock and the process's CPU time; a script runs its
cases interleaved, one round after another, and compares a case with its reference by
ratios paired per round (the same machine load), of which it reports the median.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LearnTiming:
    """One timed ``model.learn``.

    :param case: the benchmark case
    :param steps: environment steps trained
    :param seconds: wall-clock seconds of ``learn``
    :param cpu_seconds: CPU seconds of the process during ``learn``
    :param peak_rss_mb: the process's peak resident memory (MB)
    :param family: the family trained on, where a script measures several
    """

    case: str
    steps: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float = 0.0
    family: str = ""

    @property
    def steps_per_second(self) -> float:
        """Wall-clock throughput."""
        return self.steps / self.seconds

    @property
    def steps_per_cpu_second(self) -> float:
        """Throughput per second of this process's CPU time (less sensitive to other load)."""
        return self.steps / self.cpu_seconds

    def to_json(self) -> str:
        """One line of JSON, what a worker process prints last."""
        return json.dumps(asdict(self))


def time_learn(model: Any, timesteps: int, case: str, family: str = "") -> LearnTiming:
    """Train ``model`` for ``timesteps`` steps (no progress bar, no log) and time it; without
    a logger of its own, SB3 would leave an empty folder in ``/tmp`` at every call."""
    from mtml_rl.training.monitor import silence_logger

    silence_logger(model)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=timesteps, progress_bar=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return LearnTiming(case, int(model.num_timesteps), seconds, cpu_seconds, peak_kb / 1024, family)


def run_worker(script: str, args: Sequence[str]) -> LearnTiming:
    """Run ``python script *args`` in a fresh interpreter; read the timing it prints last.

    :raises RuntimeError: the worker failed (its standard error in the message)
    """
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr}")
    return LearnTiming(**json.loads(done.stdout.strip().splitlines()[-1]))


def paired_ratios(runs: Sequence[LearnTiming], reference: Sequence[LearnTiming], *, cpu: bool) -> list[float]:
    """Per round, the case's throughput over the reference's (same round, similar machine load);
    on CPU time with ``cpu``, else on wall-clock time."""
    if cpu:
        return [m.steps_per_cpu_second / r.steps_per_cpu_second for m, r in zip(runs, reference, strict=True)]
    return [m.steps_per_second / r.steps_per_second for m, r in zip(runs, reference, strict=True)]


Results = dict[tuple[str, str], list[LearnTiming]]
"""``(family, case)`` -> its timings, one per round."""


def run_rounds(
    families: Sequence[str],
    cases: Sequence[str],
    rounds: int,
    measure: Callable[[str, str], LearnTiming],
    log: Callable[[str], None] = print,
) -> Results:
    """Every ``(family, case)`` once per round, interleaved, each timed by ``measure``."""
    results: Results = {}
    for round_index in range(rounds):
        for family in families:
            for case in cases:
                m = measure(family, case)
                results.setdefault((family, case), []).append(m)
                log(
                    f"round {round_index + 1}/{rounds} {family:9s} {case:7s} "
                    f"{m.steps_per_second:8,.0f} steps/s {_rate(m.steps_per_cpu_second):>8s} steps/CPU-s"
                )
    return results


def print_before_and_after(
    results: Results, cases: Sequence[str], reference: str, goal: float | None = None
) -> None:
    """A table per family and case: medians over rounds, and ratios paired per round against
    the ``before`` case (wall clock, CPU time and the CPU ratio's range) and against
    ``reference`` (CPU); with ``goal``, whether ``now`` reaches that many times ``before``."""
    print(
        f"{'family':9s} {'case':7s} {'steps/s':>9s} {'steps/CPU-s':>12s} {'vs before':>10s} "
        f"{'(CPU)':>10s} {'CPU range':>12s} {f'vs {reference} (CPU)':>13s}"
    )
    for family in sorted({f for f, _ in results}):
        before, ref = results.get((family, "before")), results.get((family, reference))
        for case in cases:
            runs = results.get((family, case))
            if not runs:
                continue
            wall = paired_ratios(runs, before, cpu=False) if before else []
            cpu = paired_ratios(runs, before, cpu=True) if before else []
            vs_ref = paired_ratios(runs, ref, cpu=True) if ref and case != reference else []
            verdict = ""
            if goal is not None and case == "now" and wall:
                verdict = f" {'ok' if statistics.median(wall) >= goal else 'below'} (goal {goal:g}x)"
            cpu_range = f"{min(cpu):.2f}-{max(cpu):.2f}" if cpu else ""
            print(
                f"{family:9s} {case:7s} {statistics.median(m.steps_per_second for m in runs):9,.0f} "
                f"{_rate(statistics.median(m.steps_per_cpu_second for m in runs)):>12s} "
                f"{_median_ratio(wall)} {_median_ratio(cpu)} {cpu_range:>12s} "
                f"{_median_ratio(vs_ref):>13s}{verdict}"
            )
    print("vs before: median over rounds of the case's throughput over 'before' in the same round")
    print(f"(wall clock, then CPU time, with the range over rounds); vs {reference}: the same against it.")


def _rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _median_ratio(values: list[float]) -> str:
    return f"{f'{statistics.median(values):.2f}x' if values else '':>10s}"
