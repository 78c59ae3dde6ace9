"""Benchmark the adaptation module against its baselines on held-out task variants.

Trains ``dr``, ``oracle``, ``adapt``, ``history`` and ``rl2`` on the CartPole, Pendulum
and PointNav specs, with 3 seeds each, at equal environment-step budgets per family
(``adapt`` spends part of its budget on phase 2: phase 1 + phase 2 = the budget), and
evaluates each deployed agent (context withheld except for the oracle) with one
deterministic episode per task on the train, interpolation and extrapolation splits.
``rl2`` plays trials of its own length; its first episode (zero-shot, like every other
method's) is scored, and the mean over its whole trial is printed beside it.

Scores are normalized per task, ``(R - R_random) / (R_oracle - R_random)``: ``R_random``
is a uniform random policy's mean return over 3 episodes, ``R_oracle`` the oracle's mean
over the seeds (so the oracle averages about 1); the denominator is floored at a tenth
of the split's mean ``R_oracle - R_random`` so that a task the oracle cannot solve
either does not blow up. Means and IQMs come with 95% stratified bootstrap intervals
(rliable). For every family the script prints the share of the ``dr``-to-``oracle`` gap
that ``adapt`` closes, or says that the spec shows no such gap.

Usage::

    python scripts/bench_adaptation.py                   # the full benchmark (long)
    python scripts/bench_adaptation.py --quick           # a tenth of every budget
    python scripts/bench_adaptation.py --load DIR/results.jsonl   # summarize saved (partial) results
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.probes import RandomAgent
from mtml_rl.io import InputFileError, atomic_write_text, read_text_file, record_problem
from mtml_rl.lifetime import script_exit_status, worker_pool
from mtml_rl.locks import lock_folder
from mtml_rl.rollouts import TrialEpisode, rollout_agent
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import TrainConfig, train
from mtml_rl.training.registry import get_method

FAMILIES = ("CartPole", "Pendulum", "PointNav")
BUDGETS = {"CartPole": 80_000, "Pendulum": 200_000, "PointNav": 200_000}
"""Environment steps of every run of a family (``adapt``: phase 1 + phase 2)."""
PHASE2 = {"CartPole": 20_000, "Pendulum": 30_000, "PointNav": 30_000}
"""``adapt``'s phase-2 (DAgger) share of the budget."""
BENCH_METHODS = ("dr", "oracle", "adapt", "history", "rl2")
SUBJECT = "adapt"
MAX_RESULTS_BYTES = 100_000_000
"""Largest ``results.jsonl`` ``--load`` reads (one line per run)."""
"""The method whose share of the gap between the gap's two ends (``dr`` and ``oracle``, by
their :attr:`~mtml_rl.training.method.Method.gap_end`) the summary reports."""
SPLITS = ("train", "test-interpolation", "test-extrapolation")
EVAL_SEED = 100
RANDOM_EPISODES = 3
GAP_FLOOR = 0.1
"""Per-task denominators are floored at this fraction of the split's mean oracle-random gap."""
MIN_GAP = 0.1
"""A normalized ``oracle - dr`` gap below this counts as no gap."""


@dataclass(frozen=True)
class Job:
    """One training run: family, method, seed, budget and output folder."""

    family: str
    method: str
    seed: int
    timesteps: int
    adapt_timesteps: int
    out: str


@dataclass(frozen=True)
class JobResult:
    """Per-task returns of one run on every split, in the split's task order.

    :param first: the first episode of each task's trial (zero-shot)
    :param trial: the mean over each task's trial (equal to ``first`` for one-episode trials)
    """

    family: str
    method: str
    seed: int
    first: dict[str, list[float]]
    trial: dict[str, list[float]]


def per_task(
    spec: TaskSpec, split: str, episodes: Sequence[TrialEpisode], pick: Callable[..., float]
) -> list[float]:
    """``pick(episodes of a task)`` for every task of ``split``, in the split's order."""
    tasks = list(build_splits(spec)[split].tasks)
    by_task: dict[Any, list[TrialEpisode]] = {t: [] for t in tasks}
    for e in episodes:
        by_task[e.task].append(e)
    return [pick(sorted(by_task[t], key=lambda e: (e.trial, e.episode))) for t in tasks]


def evaluate(
    agent: Any, spec: TaskSpec, trial_episodes: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """First-episode and whole-trial mean returns per task on every split."""
    first, trial = {}, {}
    for split in SPLITS:
        tasks = list(build_splits(spec)[split].tasks)
        episodes = rollout_agent(agent, spec, tasks, trial_episodes=trial_episodes, seed=EVAL_SEED)
        first[split] = per_task(spec, split, episodes, lambda es: es[0].ret)
        trial[split] = per_task(spec, split, episodes, lambda es: float(np.mean([e.ret for e in es])))
    return first, trial


def run_job(job: Job) -> JobResult:
    """Train one run and evaluate its deployed agent (in a worker, one torch thread)."""
    from mtml_rl.agents.loading import load_agent

    th.set_num_threads(1)
    config = TrainConfig(
        env=f"mtml/{job.family}-v0",
        method=job.method,
        timesteps=job.timesteps,
        adapt_timesteps=job.adapt_timesteps,
        seed=job.seed,
        eval_freq=0,
        save_freq=0,
        num_threads=1,
        out=job.out,
    )
    # the budget counts every environment step: training's and a post-training step's
    # (``adapt``'s phase 2), so training gets what the method's own steps leave of it
    after_training = get_method(job.method).environment_steps(config, 0)
    config = dataclasses.replace(config, timesteps=job.timesteps - after_training)
    run = train(config, force=True, progress=False)
    agent = load_agent(run)
    k = int(getattr(agent, "trial_episodes", 1))
    first, trial = evaluate(agent, run.spec, k)
    print(f"done {job.family} {job.method} seed {job.seed}", flush=True)
    return JobResult(job.family, job.method, job.seed, first, trial)


def random_returns(family: str) -> dict[str, list[float]]:
    """``R_random`` per task of every split."""
    spec = resolve_spec(f"mtml/{family}-v0")
    agent = RandomAgent(spec.family_cls().action_space(), seed=0)
    out = {}
    for split in SPLITS:
        tasks = list(build_splits(spec)[split].tasks)
        episodes = rollout_agent(agent, spec, tasks, trials=RANDOM_EPISODES, seed=EVAL_SEED)
        out[split] = per_task(spec, split, episodes, lambda es: float(np.mean([e.ret for e in es])))
    return out


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------
def normalized(
    results: Sequence[JobResult], randoms: dict[str, dict[str, list[float]]], family: str, split: str
) -> dict[str, np.ndarray]:
    """Normalized scores ``(seeds, tasks)`` per method of one family and split."""
    rows = [r for r in results if r.family == family]
    present = [m for m in BENCH_METHODS if any(r.method == m for r in rows)]
    raw = {m: np.array([r.first[split] for r in rows if r.method == m]) for m in present}
    low = np.array(randoms[family][split])
    reference = next(m for m in present if get_method(m).privileged)
    gap = raw[reference].mean(axis=0) - low
    scale = np.maximum(gap, GAP_FLOOR * max(abs(float(gap.mean())), 1e-8))
    return {m: (v - low) / scale for m, v in raw.items()}


def intervals(scores: dict[str, np.ndarray], seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and IQM with 95% stratified bootstrap intervals per method (rliable)."""
    try:
        from rliable import library as rly
        from rliable import metrics
    except Exception as exc:  # rliable's dependency arch fails to import under pandas 3
        raise SystemExit(
            f"rliable cannot be imported ({type(exc).__name__}: {exc}); with rliable 1.2 and arch 7 "
            'pandas must be below 3: pip install "pandas<3"'
        ) from None

    def aggregate(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    with warnings.catch_warnings():  # arch deprecates the random_state rliable passes it
        warnings.simplefilter("ignore", FutureWarning)
        points, cis = rly.get_interval_estimates(
            scores, aggregate, reps=5000, random_state=np.random.RandomState(seed)
        )
    return {m: (points[m], cis[m]) for m in scores}


def _fmt(point: np.ndarray, ci: np.ndarray, which: int) -> str:
    return f"{point[which]:.2f} [{ci[0, which]:.2f}, {ci[1, which]:.2f}]"


def gap_end(est: dict[str, tuple[np.ndarray, np.ndarray]], end: str) -> str | None:
    """The method in ``est`` that stands for the gap's ``end`` (``"blind"`` or ``"privileged"``)."""
    return next((m for m in est if get_method(m).gap_end == end), None)


def gap_share(est: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """:data:`SUBJECT`'s share of the normalized mean gap from the blind end (``dr``) to the
    privileged one (``oracle``), or ``no gap``."""
    blind, privileged = gap_end(est, "blind"), gap_end(est, "privileged")
    if blind is None or privileged is None or SUBJECT not in est:
        return "n/a"
    low, high, subject = (float(est[m][0][0]) for m in (blind, privileged, SUBJECT))
    if high - low < MIN_GAP:
        return f"no gap ({privileged} {high:.2f}, {blind} {low:.2f})"
    separated = est[SUBJECT][1][0, 0] > est[blind][1][1, 0]
    return f"{100 * (subject - low) / (high - low):.0f}%" + (f" (CI above {blind})" if separated else "")


def summarize(results: Sequence[JobResult], randoms: dict[str, dict[str, list[float]]]) -> str:
    """Markdown tables: normalized mean and IQM per family, method and split; gap shares."""
    head = "| family | method | " + " | ".join(f"{s} mean [95% CI] | {s} IQM [95% CI]" for s in SPLITS) + " |"
    lines = [head, "|---|---|" + "---|---|" * len(SPLITS)]
    gaps = ["| family | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    families = [f for f in FAMILIES if any(r.family == f for r in results)]
    for family in families:
        estimates = {s: intervals(normalized(results, randoms, family, s)) for s in SPLITS}
        for method in [m for m in BENCH_METHODS if m in estimates[SPLITS[0]]]:
            cells = []
            for s in SPLITS:
                point, ci = estimates[s][method]
                cells += [_fmt(point, ci, 0), _fmt(point, ci, 1)]
            lines.append(f"| {family} | {method} | " + " | ".join(cells) + " |")
        gaps.append(f"| {family} | " + " | ".join(gap_share(estimates[s]) for s in SPLITS) + " |")
    return "\n".join(
        [*lines, "", f"Share of the dr-to-oracle gap (normalized means) that {SUBJECT} closes:", "", *gaps]
    )


def trial_notes(results: Sequence[JobResult]) -> str:
    """Raw mean returns of the first episode against the whole trial, for every method that
    plays trials of more than one episode (``rl2``)."""
    notes = []
    for method in dict.fromkeys(r.method for r in results):
        if get_method(method).default_trial_episodes < 2:
            continue
        per_family = []
        for family in FAMILIES:
            mine = [r for r in results if r.method == method and r.family == family]
            if mine:
                first = np.mean([np.mean(r.first["test-interpolation"]) for r in mine])
                trial = np.mean([np.mean(r.trial["test-interpolation"]) for r in mine])
                per_family.append(
                    f"{family}: interpolation raw return, first episode {first:.1f}, trial mean {trial:.1f}"
                )
        notes.append(f"{method} " + "; ".join(per_family))
    return "\n".join(notes)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def available_methods(wanted: Sequence[str]) -> list[str]:
    """The wanted methods that this installation can train (their algorithm is installed:
    ``rl2`` needs sb3-contrib)."""
    methods = []
    for method in wanted:
        try:
            get_method(method).algorithm(TrainConfig(method=method))
        except ConfigError as exc:
            print(f"note: {method} is skipped ({exc})")
            continue
        methods.append(method)
    return methods


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(BENCH_METHODS), choices=BENCH_METHODS)
    parser.add_argument("--quick", action="store_true", help="a tenth of every budget (checks the script)")
    parser.add_argument("--workers", type=int, default=2, help="processes (one torch thread each)")
    parser.add_argument("--out", default=None, help="folder of the runs (default: a temporary one)")
    parser.add_argument(
        "--load", default=None, help="summarize the results.jsonl of a (partial) run; train nothing"
    )
    return parse_arguments(parser, argv)


def budget(family: str, quick: bool) -> tuple[int, int]:
    """``(steps per run, adapt's phase-2 steps)`` of a family, a tenth of each if ``quick``."""
    scale = 0.1 if quick else 1.0
    return int(BUDGETS[family] * scale), int(PHASE2[family] * scale)


def jobs_for(args: argparse.Namespace, root: str) -> list[Job]:
    """Every (family, method, seed) run, family by family; recurrent methods' (``rl2``, by far
    the slowest to train on a CPU) last, so that a partial benchmark has whole families of the
    others."""
    methods = available_methods(args.methods)
    jobs = [
        Job(f, m, s, *budget(f, args.quick), str(Path(root) / f"{f}-{m}-s{s}"))
        for f in args.families
        for m in methods
        for s in args.seeds
    ]
    return sorted(jobs, key=lambda j: get_method(j.method).recurrent)


def train_all(jobs: Sequence[Job], workers: int, log: Path) -> list[JobResult]:
    """Run the jobs on a process pool; each result is appended to ``log`` (JSON lines) as it
    comes, so that an interrupted benchmark can still be summarized with ``--load``. The log
    starts empty: every job trains its run afresh, so an earlier invocation's results in the
    same folder are of runs that are replaced (appended to, the log counted every job twice)."""
    results = []
    atomic_write_text(log, "")
    with worker_pool(workers) as pool:
        for result in pool.map(run_job, jobs):
            results.append(result)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(dataclasses.asdict(result)) + "\n")
    return results


def load_results(path: Path) -> list[JobResult]:
    """The results in a ``results.jsonl`` this script wrote (one JSON object per line). A last
    line without its newline is a result the script was stopped while appending: it is left
    out, with a note, and the whole ones are summarized."""
    try:
        *lines, last = read_text_file(path, max_bytes=MAX_RESULTS_BYTES).split("\n")
        records = [json.loads(line) for line in lines if line.strip()]
    except (InputFileError, ValueError, RecursionError) as exc:
        raise ConfigError(f"--load {path} is not a results.jsonl of this script: {exc}") from None
    problem = next((wrong for record in records if (wrong := record_problem(JobResult, record))), "")
    if problem:
        raise ConfigError(f"--load {path} is not a results.jsonl of this script: a result: {problem}")
    results = [JobResult(**record) for record in records]
    if last.strip():
        print(
            f"note: the last line of {path} is incomplete (the benchmark was stopped while writing "
            f"it); summarizing the {len(results)} whole result(s)",
            file=sys.stderr,
        )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Train and evaluate (or load), then print the tables."""
    args = parse_args(argv)
    if args.load:
        results = load_results(Path(args.load))
    else:
        root = Path(args.out or tempfile.mkdtemp(prefix="bench-adaptation-"))
        root.mkdir(parents=True, exist_ok=True)
        jobs = jobs_for(args, str(root))
        log = root / "results.jsonl"
        print(f"seeds {args.seeds}; {len(jobs)} runs on {args.workers} workers; results in {log}")
        for f in args.families:
            b, a = budget(f, args.quick)
            print(f"  {f}: {b} env steps per run (adapt: {b - a} phase 1 + {a} phase 2); PPO defaults")
        with lock_folder(root):  # one benchmark writes the folder
            results = train_all(jobs, args.workers, log)
    families = [
        f for f in FAMILIES if any(r.family == f and get_method(r.method).privileged for r in results)
    ]
    randoms = {f: random_returns(f) for f in families}
    print(summarize([r for r in results if r.family in families], randoms))
    print(trial_notes(results))


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_adaptation.py", main))
