"""Held-out normalized score against total environment steps, from runs trained with checkpoints.

Every checkpoint (``checkpoints/step_N``) and the final model of every run given is deployed
as its method deploys it (context withheld) on a held-out split and scored per task as
``(R - R_random) / (R_oracle - R_random)``, where ``R_oracle`` is the mean return of the
``--oracle`` runs' final models on the same task (without ``--oracle``: the family's documented
reference return) and ``R_random`` a uniform random agent's, both from the same reset seeds.
An ``--oracle`` run is a privileged method's run or one whose first phase is a privileged
method's training (an ``adapt`` run, deployed as the oracle: a grid with both trains no oracle
run of its own).
The x axis is the environment steps the method spent to get there: the checkpoint's steps,
and for ``adapt`` its phase-2 steps on top: at an intermediate checkpoint phase 2 is run here
from that checkpoint's policy with the run's own phase-2 settings, at the final model the
run's own adaptation module is used. The script prints a markdown table of the mean
normalized score by method and total steps (mean over seeds and tasks), and the fewest total
steps at which each method's mean reaches ``--target`` (default 0.9) of the oracle; ``--figure``
draws the curves; ``--json`` writes the points with the spec, split, episodes, seed, checkpoint
spacing, oracle runs and run folders they were scored with; ``--workers N`` scores N checkpoints
at a time; ``--every N`` scores only the checkpoints at multiples of N training steps (and the
final model), for long runs whose every checkpoint would cost a phase 2 each. Train runs with
``--save-freq`` (``save_freq`` in a grid's ``train``). ``--merge A.json B.json`` puts the points of
several ``--json`` files side by side (runs scored in separate invocations, e.g. as they
finish) and prints, draws and writes them as one invocation would have; the files must agree on
what they were scored on and against (spec, split, tasks, episodes, reset seed, oracle runs,
target), and no run may be in two of them.

Usage::

    python scripts/steps_to_transfer.py --runs RUNS/adapt-s0 RUNS/rl2-s0 --oracle RUNS/oracle-s0 \\
        --split test-interpolation --episodes 2 --figure steps.png --json steps.json
    python scripts/steps_to_transfer.py --merge adapt.json rl2.json --figure steps.png --json all.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.io import atomic_save, atomic_write_text, record_problem
from mtml_rl.lifetime import script_exit_status, worker_pool

TARGET = 0.9
"""Default share of the oracle a method must reach."""


@dataclass(frozen=True)
class Point:
    """One checkpoint of one run, scored.

    :param method: the run's method
    :param seed: its seed
    :param steps: total environment steps (phase 2 included for ``adapt``)
    :param score: mean normalized score over the split's tasks
    :param mean_return: mean return over the split's tasks
    :param algo: the SB3 algorithm it was trained with (empty in records written before it
        was recorded)
    """

    method: str
    seed: int
    steps: int
    score: float
    mean_return: float
    algo: str = ""


def checkpoints(path: Path) -> list[tuple[int, Path]]:
    """``(steps, folder)`` of every intermediate checkpoint of a run, in order."""
    folders = [(int(p.name.split("_")[1]), p) for p in (path / "checkpoints").glob("step_[0-9]*")]
    return sorted(folders)


def task_returns(agent: Any, spec: Any, tasks: Sequence[Any], episodes: int, seed: int) -> np.ndarray:
    """Mean return per task of ``agent`` over ``episodes`` episodes (whole trials of its length)."""
    from mtml_rl.rollouts import rollout_agent

    k = max(1, int(getattr(agent, "trial_episodes", 1)))
    played = rollout_agent(agent, spec, tasks, trials=max(1, episodes // k), trial_episodes=k, seed=seed)
    index = {task: i for i, task in enumerate(tasks)}
    sums, counts = np.zeros(len(tasks)), np.zeros(len(tasks))
    for episode in played:
        sums[index[episode.task]] += episode.ret
        counts[index[episode.task]] += 1
    return sums / counts


def deployed_agent(run: Any, folder: Path, final: bool) -> tuple[Any, int]:
    """The agent of ``run``'s model in ``folder``, and the environment steps it cost.

    ``adapt`` away from its final model: phase 2 is trained here, from this policy."""
    from mtml_rl.adaptation.orchestration import phase2_config
    from mtml_rl.adaptation.phase2 import train_adaptation
    from mtml_rl.agents.policy import AdaptAgent
    from mtml_rl.training import Run
    from mtml_rl.training.run import load_model

    model, normalizer = load_model(run.config, folder)
    loaded = Run(run.path, run.config, run.spec, model, normalizer, folder)
    steps = run.method.environment_steps(run.config, int(model.num_timesteps))  # adapt: + phase 2
    if final or not run.method.post_training:
        return run.method.agent(loaded), steps
    config = phase2_config(loaded, model.n_envs)  # the one post-training step: adapt's phase 2
    return AdaptAgent(loaded, train_adaptation(model, normalizer, run.spec, config, lambda s, m: None)), steps


def reference_returns(
    oracles: Sequence[str], spec: Any, tasks: Sequence[Any], episodes: int, seed: int
) -> np.ndarray:
    """Per task: the oracle runs' mean return, or the family's documented reference."""
    from mtml_rl.evaluation.references import family_reference
    from mtml_rl.training import Run

    if not oracles:
        value = family_reference(spec)
        if value is None:
            raise SystemExit(f"{spec.id} has no documented reference return; pass --oracle RUN")
        return np.full(len(tasks), value)
    returns = []
    for path in oracles:
        run = privileged_run(Run.load(path))
        returns.append(task_returns(run.method.agent(run), spec, tasks, episodes, seed))
    return np.mean(returns, axis=0)


def privileged_run(run: Any) -> Any:
    """``run`` deployed as the privileged method it holds: its own, or the method whose training
    is its first phase (an ``adapt`` run as the oracle); refused if it holds none."""
    if run.method.privileged:
        return run
    first = run.method.first_phase
    deployed = run.deployed_as(first) if first is not None else None
    if deployed is not None and deployed.method.privileged:
        return deployed
    raise SystemExit(
        f"--oracle {run.path}: a {run.method.name} run holds no privileged policy; pass oracle runs, "
        "or runs whose first phase is the oracle's (adapt)"
    )


@cache
def load_run(path: str) -> Any:
    """The run at ``path``, loaded once per process (its checkpoints are loaded from it, not into it)."""
    from mtml_rl.training import Run

    return Run.load(path)


def checkpoint_jobs(path: str, spec_id: str, every: int | None = None) -> list[tuple[str, str, bool]]:
    """``(run, folder, final)`` for every intermediate checkpoint of one run and its final model;
    with ``every``, only the intermediate checkpoints at multiples of ``every`` training steps."""
    run = load_run(path)
    if run.spec.id != spec_id:
        raise SystemExit(
            f"{path} trained on {run.spec.id}, the first run on {spec_id}; score one spec at a time"
        )
    folders = [(str(f), False) for f in scored_checkpoints(run.path, int(run.model.num_timesteps), every)]
    return [(path, folder, final) for folder, final in [*folders, (str(run.path / "final"), True)]]


def scored_checkpoints(path: Path, last: int, every: int | None) -> list[Path]:
    """The intermediate checkpoints of the run at ``path`` to score: those before its final step
    ``last`` (a checkpoint there is the final model), with ``every`` only those at its multiples."""
    return [f for s, f in checkpoints(path) if s < last and (not every or s % every == 0)]


def score_checkpoint(
    job: tuple[str, str, bool], args: argparse.Namespace, reference: np.ndarray, random: np.ndarray
) -> Point:
    """One checkpoint of one run, deployed and scored on the split."""
    from mtml_rl.evaluation.scores import normalize
    from mtml_rl.specs.splits import build_splits

    path, folder, final = job
    run = load_run(path)
    tasks = list(build_splits(run.spec)[args.split].tasks)
    agent, steps = deployed_agent(run, Path(folder), final)
    returns = task_returns(agent, run.spec, tasks, args.episodes, args.seed)
    scores = [normalize(r, lo, hi) for r, lo, hi in zip(returns, random, reference, strict=True)]
    point = Point(
        run.method.name,
        run.config.seed,
        steps,
        float(np.mean(scores)),
        float(np.mean(returns)),
        run.config.algo,
    )
    print(f"{path}: {steps:,} steps, score {point.score:.3f}", flush=True)
    return point


def worker_start() -> None:
    """Worker start-up: one torch thread per process, as in training."""
    import torch as th

    th.set_num_threads(1)


def score_all(
    jobs: Sequence[tuple[str, str, bool]],
    args: argparse.Namespace,
    reference: np.ndarray,
    random: np.ndarray,
) -> list[Point]:
    """Every job scored, in order: in this process, or over ``args.workers`` processes."""
    score = partial(score_checkpoint, args=args, reference=reference, random=random)
    if args.workers <= 1:
        return [score(job) for job in jobs]
    context = multiprocessing.get_context("spawn")  # no forked torch state
    with worker_pool(args.workers, mp_context=context, initializer=worker_start) as pool:
        return list(pool.map(score, jobs))


def labels(points: Sequence[Point]) -> list[str]:
    """Each point's line: its method, and its algorithm too where the method's points were
    trained with more than one (``adapt (sac)`` beside ``adapt (ppo)``); a point of a record
    written before algorithms were recorded keeps the bare method name."""
    algos: dict[str, set[str]] = {}
    for p in points:
        algos.setdefault(p.method, set()).add(p.algo)
    return [f"{p.method} ({p.algo})" if p.algo and len(algos[p.method]) > 1 else p.method for p in points]


def curves(points: Sequence[Point]) -> dict[str, list[tuple[int, float, int]]]:
    """Per line (:func:`labels`): ``(total steps, mean score over seeds, seeds)``, by steps."""
    out: dict[str, list[tuple[int, float, int]]] = {}
    named = labels(points)
    for label in dict.fromkeys(named):
        mine = [p for p, name in zip(points, named, strict=True) if name == label]
        out[label] = [
            (s, float(np.mean([p.score for p in mine if p.steps == s])), sum(p.steps == s for p in mine))
            for s in sorted({p.steps for p in mine})
        ]
    return out


def steps_to_target(curve: Sequence[tuple[int, float, int]], target: float) -> int | None:
    """The fewest total steps at which the mean score is at or above ``target`` (``None``: never)."""
    return next((steps for steps, score, _ in curve if score >= target), None)


def table(points: Sequence[Point], target: float) -> str:
    """Markdown: the mean score by method and total steps, then the steps to ``target``."""
    found = curves(points)
    lines = ["| method | total env steps | mean normalized score | seeds |", "|---|---:|---:|---:|"]
    for method, curve in found.items():
        lines += [f"| {method} | {steps:,} | {score:.3f} | {n} |" for steps, score, n in curve]
    lines += ["", f"| method | steps to {target:g} of the oracle |", "|---|---:|"]
    for method, curve in found.items():
        reached = steps_to_target(curve, target)
        lines.append(f"| {method} | {'not reached' if reached is None else f'{reached:,}'} |")
    return "\n".join(lines)


def figure(points: Sequence[Point], target: float, path: str, title: str) -> None:
    """One line per method: mean normalized score against total environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in curves(points).items():
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", label=method)
    ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"{target:g} of the oracle")
    ax.set(
        xlabel="total environment steps (adapt: phase 2 included)",
        ylabel="mean normalized score",
        title=title,
    )
    ax.legend()
    fig.tight_layout()
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=120))  # the old figure or the new, never half
    plt.close(fig)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sources = parser.add_mutually_exclusive_group(required=True)
    sources.add_argument("--runs", nargs="+", help="run folders trained with checkpoints")
    sources.add_argument(
        "--merge", nargs="+", type=Path, help="--json files of earlier invocations to put side by side"
    )
    parser.add_argument("--oracle", nargs="*", default=[], help="oracle runs of the reference (same spec)")
    parser.add_argument("--split", default="test-interpolation", help="held-out split to score on")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per task (whole trials)")
    parser.add_argument("--seed", type=int, default=100, help="reset seed of task 0 (task i: seed + i)")
    parser.add_argument("--target", type=float, default=TARGET, help="share of the oracle to reach")
    parser.add_argument("--figure", default=None, help="write the curves to this image")
    parser.add_argument("--json", default=None, help="write the scored points to this file")
    parser.add_argument(
        "--workers", type=int, default=1, help="score checkpoints in this many processes (one thread each)"
    )
    parser.add_argument(
        "--every",
        type=int,
        default=None,
        help="score only the checkpoints at multiples of this many training steps (the final model always)",
    )
    args = parse_arguments(parser, argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.every is not None and args.every < 1:
        parser.error(f"--every must be at least 1 step, got {args.every}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Score every checkpoint of every run (or merge earlier scorings) and print the table."""
    args = parse_args(argv)
    if args.merge:
        try:
            merged = merge_records([read_record(path) for path in args.merge])
        except (OSError, ValueError) as err:
            files = " ".join(map(str, args.merge))
            print(f"steps_to_transfer.py: error: cannot merge {files}: {err}", file=sys.stderr)
            return 2
        report(args, merged)
        return 0
    import torch as th

    from mtml_rl.evaluation.collect import random_returns
    from mtml_rl.specs.splits import build_splits

    th.set_num_threads(1)
    spec = load_run(args.runs[0]).spec
    tasks = list(build_splits(spec)[args.split].tasks)
    reference = reference_returns(args.oracle, spec, tasks, args.episodes, args.seed)
    random = np.asarray(random_returns(spec, tasks, episodes=args.episodes, seed=args.seed))
    jobs = [job for path in args.runs for job in checkpoint_jobs(path, spec.id, args.every)]
    points = score_all(jobs, args, reference, random)
    report(args, record(args, spec.id, len(tasks), points))
    return 0


def report(args: argparse.Namespace, scored: dict[str, Any]) -> None:
    """Print the table of a record; draw and write it where asked."""

    points = [Point(**p) for p in scored["points"]]
    title = f"{scored['spec']}, {scored['split']}"
    print(f"{title}, {scored['tasks']} tasks, {scored['episodes']} episodes per task\n")
    print(table(points, scored["target"]))
    if args.figure:
        figure(points, scored["target"], args.figure, title)
    if args.json:
        atomic_write_text(args.json, json.dumps(scored, indent=1))


MERGE_KEYS = ("spec", "split", "tasks", "episodes", "seed", "reference", "oracle", "target")
"""What records must agree on to be put side by side."""


def read_record(path: Path) -> dict[str, Any]:
    """A ``--json`` record read back, with every key this script writes and well-formed points.

    :raises ValueError: naming the file and what is missing or malformed
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:
        raise ValueError(f"{path} is not JSON ({err})") from None
    missing = [
        k for k in (*MERGE_KEYS, "every", "runs", "points") if not isinstance(record, dict) or k not in record
    ]
    if missing:
        raise ValueError(f"{path} is not a --json file of this script (no {', '.join(missing)})")
    runs, points = record["runs"], record["points"]
    if not isinstance(runs, list) or not all(isinstance(run, str) for run in runs):
        raise ValueError(f"{path} has malformed runs (a list of run folders, got {runs!r:.60})")
    if not isinstance(points, list):
        raise ValueError(f"{path} has malformed points (a list of points, got {points!r:.60})")
    for point in points:
        problem = record_problem(Point, point)
        if problem:
            raise ValueError(f"{path} has a malformed point ({problem})")
    return dict(record)


def merge_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One record of several ``--json`` records (points in the order given).

    :raises ValueError: if they were scored on or against different things, or share a run
    """
    first = records[0]
    for other in records[1:]:
        differ = [key for key in MERGE_KEYS if other[key] != first[key]]
        if differ:
            detail = "; ".join(f"{k}: {first[k]!r} against {other[k]!r}" for k in differ)
            raise ValueError(f"they were scored differently ({detail})")
    runs = [run for r in records for run in r["runs"]]
    twice = sorted({run for run in runs if runs.count(run) > 1})
    if twice:
        raise ValueError(f"runs scored in more than one of them: {', '.join(twice)}")
    everies = list(dict.fromkeys(every for r in records for every in _spacings(r["every"])))
    return {
        **{key: first[key] for key in MERGE_KEYS},
        "every": everies[0] if len(everies) == 1 else everies,
        "runs": runs,
        "points": [p for r in records for p in r["points"]],
    }


def _spacings(every: int | list[int]) -> list[int]:
    """A record's checkpoint spacing as a list (a merged record holds several)."""
    return list(every) if isinstance(every, list) else [every]


def record(args: argparse.Namespace, spec_id: str, n_tasks: int, points: Sequence[Point]) -> dict[str, Any]:
    """What ``--json`` writes: the scored points with what they were scored on and against
    (spec, split, tasks, episodes, reset seed, checkpoint spacing, oracle runs and run folders),
    so that points from different invocations can be told apart before they are put side by side."""
    return {
        "spec": spec_id,
        "split": args.split,
        "tasks": n_tasks,
        "episodes": args.episodes,
        "seed": args.seed,
        "every": args.every,
        "reference": "oracle runs" if args.oracle else "the family's documented reference return",
        "oracle": [str(Path(path)) for path in args.oracle],
        "runs": [str(Path(path)) for path in args.runs],
        "target": args.target,
        "points": [asdict(p) for p in points],
    }


if __name__ == "__main__":
    sys.exit(script_exit_status("steps_to_transfer.py", main))
