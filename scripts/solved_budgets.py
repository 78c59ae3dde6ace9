"""Find the budgets at which each family's oracle reaches its documented solved level.

For every family, method (default: the oracle) and seed, one run is trained with
checkpoints every ``--every`` steps; the model of every checkpoint (and the final one) is
evaluated on the train split, one deterministic episode per task from fixed reset seeds, and
its mean return is compared with the family's solved level (its ``solved_level``,
:mod:`mtml_rl.evaluation.references`). Each run's returns are printed as it
finishes; at the end it prints a markdown table of
mean train return by budget and seed, the solved level, and the first budget at which every
seed is at or above it. Only the train split is read.

Runs in ``--out`` are kept and picked up again as a grid's trials are
(:func:`mtml_rl.benchmark.run_trial`): a finished run of exactly the same job (config, tasks,
hyperparameters; its final model verified) is evaluated again without training, an
interrupted one goes on from its newest checkpoint, and a finished run of another config in
the folder stops the script with the difference named. Without ``--out`` the runs go to a
new temporary folder. To take finished runs further, resume each one
(``mtml-rl train --resume OUT/<run> --timesteps N``) and run the script again with
``--budget N`` and the same ``--every``: every checkpoint is scored, the new ones included.

Usage::

    python scripts/solved_budgets.py --families acrobot --budget 600000 --every 100000
    python scripts/solved_budgets.py --families cartpole pointnav --seeds 0 1 2 --json solved.json
    python scripts/solved_budgets.py --families halfcheetah_vel --budget 250000 --every 250000 \
        --hyperparams '{"policy_kwargs": {"net_arch": [64, 64], "ortho_init": false, "log_std_init": -2}}'
    python scripts/solved_budgets.py --envs mtml/WalkerParams-v0 my_spec.yaml --budget 250000 --every 50000

``--families`` names the families below by a short name (each with its built-in spec and
algorithm); ``--envs`` takes any registered id or spec file instead (PPO unless ``--algo``), a
family of one's own included: its solved level is the one its class documents, and a family
that documents none gets the table without the "all solved" verdict.

``--hyperparams`` overrides the shipped hyperparameters of every run (a JSON object, keys as in
``mtml_rl/hyperparams/<algo>.yaml``; a key replaces the shipped value whole, so
``policy_kwargs`` must list every entry it keeps).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.io import atomic_write_text

if TYPE_CHECKING:
    from mtml_rl.benchmark import Trial, TrialOutcome

FAMILIES = {
    "cartpole": ("mtml/CartPole-v0", "ppo"),
    "pendulum": ("mtml/Pendulum-v0", "sac"),
    "mountaincar": ("mtml/MountainCarContinuous-v0", "ppo"),
    "acrobot": ("mtml/Acrobot-v0", "ppo"),
    "pointnav": ("mtml/PointNav-v0", "ppo"),
    "halfcheetah_vel": ("mtml/HalfCheetahVel-v0", "ppo"),
    "hopper_params": ("mtml/HopperParams-v0", "ppo"),
    "walker_params": ("mtml/WalkerParams-v0", "ppo"),
    "halfcheetah_params": ("mtml/HalfCheetahParams-v0", "ppo"),
    "halfcheetah_dir": ("mtml/HalfCheetahDir-v0", "ppo"),
    "ant_dir": ("mtml/AntDir-v0", "ppo"),
    "ant_goal": ("mtml/AntGoal-v1", "ppo"),
    "lunarlander": ("mtml/LunarLander-v0", "ppo"),
}
"""Family -> (env id, default algorithm)."""
EVAL_SEED = 100
"""Reset seed of the evaluation episodes (task ``i``: ``EVAL_SEED + i``)."""


@dataclass(frozen=True)
class Job:
    """One (family, method, seed) run.

    :param family: a key of :data:`FAMILIES`, or the ``--envs`` entry itself
    :param method: the method trained
    :param seed: the training seed
    :param budget: training steps
    :param every: checkpoint interval in steps
    :param root: folder of the runs
    :param algo: the algorithm (default: the family's)
    :param hyperparams: overrides of the shipped hyperparameters (a JSON object; empty: none)
    """

    family: str
    method: str
    seed: int
    budget: int
    every: int
    root: str
    algo: str = ""
    hyperparams: str = ""


@dataclass(frozen=True)
class Point:
    """The mean train return of one checkpoint.

    :param family: the family
    :param method: the method
    :param seed: the seed
    :param steps: training steps of the checkpoint
    :param train_return: mean return over the train split's tasks
    :param success: the share of those episodes that ended in success, where the family
        defines it (``None``: it does not)
    """

    family: str
    method: str
    seed: int
    steps: int
    train_return: float
    success: float | None = None


def _checkpoints(path: Path) -> list[tuple[int, str]]:
    """``(steps, name)`` of every periodic checkpoint, in order (``name`` as :meth:`Run.load`
    takes it)."""
    folders = [(int(p.name.split("_")[1]), p.name) for p in (path / "checkpoints").glob("step_*")]
    return sorted(folders)


def job_trial(job: Job) -> Trial:
    """The job as a benchmark :class:`~mtml_rl.benchmark.Trial` without evaluation, so that
    it trains, resumes and reuses its run exactly as a grid's trial does."""
    from mtml_rl.benchmark import Trial
    from mtml_rl.training import TrainConfig, rundir

    env, algo = target(job.family)
    name = f"{folder_name(job.family)}-{job.method}-s{job.seed}"
    run_dir = (Path(job.root) / name).resolve()
    config = TrainConfig(
        env=env,
        method=job.method,
        algo=job.algo or algo,
        timesteps=job.budget,
        seed=job.seed,
        eval_freq=0,
        save_freq=job.every,
        num_threads=1,
        hyperparams=json.loads(job.hyperparams) if job.hyperparams else {},
        out=str(run_dir),
    )
    eval_dir = rundir.evaluation_dir(run_dir)
    return Trial(name, env, job.method, job.seed, str(run_dir), str(eval_dir), config.to_dict(), None)


def failure_message(name: str, outcome: TrialOutcome) -> str:
    """What a failed run prints: one line where mtml-rl refused it (its message names what is
    wrong and the fix, e.g. another config in the run's folder), the run's traceback after it
    for anything else."""
    detail = "" if outcome.refused else f"\n{outcome.traceback or ''}"
    return f"{name}: {outcome.error}{detail}"


def run_job(job: Job) -> list[Point]:
    """Train one run with checkpoints (or go on with, or reuse, the run of exactly this job
    already in the folder) and evaluate each checkpoint on the train split.

    :raises RuntimeError: the run failed, or a run of another config is in its folder
        (:func:`failure_message`)
    """
    from mtml_rl.benchmark import run_trial
    from mtml_rl.evaluation.scores import mean_or_none
    from mtml_rl.training import Run

    trial = job_trial(job)
    outcome = run_trial(trial)
    if outcome.status != "finished":
        raise RuntimeError(failure_message(trial.name, outcome))
    path = Path(trial.run_dir)
    folders = [(s, n) for s, n in _checkpoints(path) if s < job.budget]
    folders.append((job.budget, "final"))
    points = []
    for steps, which in folders:
        records = Run.load(path, which).evaluate("train", episodes=1, seed=EVAL_SEED)
        mean = float(np.mean([r.ret for r in records]))
        success = mean_or_none([r.success for r in records])
        points.append(Point(job.family, job.method, job.seed, steps, mean, success))
    returns = ", ".join(f"{p.steps:,}: {cell(p)}" for p in points)
    reused = "" if outcome.trained else ", its finished run reused"
    print(f"done {job.family} {job.method} seed {job.seed}{reused} ({returns})", flush=True)
    return points


def cell(point: Point) -> str:
    """A point's mean return, with its share of successful episodes where there is one."""
    text = f"{point.train_return:.1f}"
    return text if point.success is None else f"{text} ({point.success:.0%} success)"


def solved_level(family: str) -> float | None:
    """The family's solved level on its built-in spec."""
    from mtml_rl.evaluation.references import solved_level as level
    from mtml_rl.specs.spec import resolve_spec

    return level(resolve_spec(target(family)[0]))


def target(family: str) -> tuple[str, str]:
    """``(env, default algorithm)`` of a :data:`FAMILIES` name, or of an ``--envs`` entry (PPO)."""
    return FAMILIES.get(family, (family, "ppo"))


def folder_name(family: str) -> str:
    """A run-folder prefix for a family name or an ``--envs`` entry (a path or an id)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", family).strip("_.")


def table(points: Sequence[Point]) -> str:
    """Markdown: mean train return per budget (rows) and seed (columns), per family and method."""
    lines = []
    for family, method in dict.fromkeys((p.family, p.method) for p in points):
        rows = [p for p in points if (p.family, p.method) == (family, method)]
        seeds = sorted({p.seed for p in rows})
        level = solved_level(family)
        documented = "no documented solved level" if level is None else f"solved level {level}"
        lines += [f"{family} {method} ({documented})", ""]
        lines += ["| steps | " + " | ".join(f"seed {s}" for s in seeds) + " | all solved |"]
        lines += ["|---|" + "---|" * (len(seeds) + 1)]
        for steps in sorted({p.steps for p in rows}):
            found = {p.seed: p for p in rows if p.steps == steps}
            values = {seed: p.train_return for seed, p in found.items()}
            solved = level is not None and all(values.get(s, -np.inf) >= level for s in seeds)
            cells = [cell(found[s]) if s in found else "–" for s in seeds]
            verdict = "–" if level is None else "yes" if solved else "no"
            lines.append(f"| {steps:,} | " + " | ".join(cells) + f" | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    which.add_argument(
        "--envs",
        nargs="+",
        default=None,
        help="registered ids or spec files instead of --families (PPO unless --algo)",
    )
    parser.add_argument("--methods", nargs="+", default=["oracle"])
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, required=True, help="training steps of every run")
    parser.add_argument("--every", type=int, required=True, help="checkpoint interval (steps)")
    parser.add_argument("--algo", default="", help="algorithm (default: each family's)")
    parser.add_argument("--workers", type=int, default=1, help="processes (one torch thread each)")
    parser.add_argument("--out", default=None, help="folder of the runs (default: a temporary one)")
    parser.add_argument("--json", default=None, help="also write the raw points to this file")
    parser.add_argument(
        "--hyperparams",
        type=_hyperparams,
        default=None,
        help="overrides of the shipped hyperparameters, a JSON object, e.g. '{\"batch_size\": 128}'",
    )
    args = parse_arguments(parser, argv)
    for env in args.envs or ():
        problem = _unknown_env(env)
        if problem:
            parser.error(f"--envs {env}: {problem}")
    return args


def _unknown_env(env: str) -> str | None:
    """Why ``env`` is no registered id or readable spec (``None``: it is one)."""
    from mtml_rl.errors import MtmlError
    from mtml_rl.specs.spec import resolve_spec

    try:
        resolve_spec(env)
    except MtmlError as err:
        return str(err)
    return None


def _hyperparams(text: str) -> str:
    """``--hyperparams``: a JSON object (kept as text, so that jobs stay hashable)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        example = '{"batch_size": 128}'
        raise argparse.ArgumentTypeError(f"not JSON ({err}); write an object such as '{example}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object of hyperparameters, got {text!r}")
    return json.dumps(value, sort_keys=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, evaluate every checkpoint and print the table."""
    args = parse_args(argv)
    root = args.out or tempfile.mkdtemp(prefix="solved-budgets-")
    jobs = [
        Job(f, m, s, args.budget, args.every, root, args.algo, args.hyperparams or "")
        for f in args.envs or args.families
        for m in args.methods
        for s in args.seeds
    ]
    overrides = f", hyperparameters {args.hyperparams}" if args.hyperparams else ""
    print(f"budget {args.budget:,}, checkpoints every {args.every:,}{overrides}; runs in {root}", flush=True)
    from mtml_rl.lifetime import worker_pool

    with worker_pool(args.workers) as pool:
        try:
            points = [p for result in pool.map(run_job, jobs) for p in result]
        except RuntimeError as exc:  # the failed run's own error, without this process's traceback
            raise SystemExit(f"solved_budgets.py: {exc}") from None
    print(table(points))
    if args.json:
        atomic_write_text(args.json, json.dumps([asdict(p) for p in points], indent=1))


AFTER_INTERRUPT = "the runs in --out are kept, and the same command goes on from their newest checkpoints"
"""What the script says after Ctrl-C or SIGTERM."""

if __name__ == "__main__":
    import sys

    from mtml_rl.lifetime import script_exit_status

    sys.exit(script_exit_status("solved_budgets.py", main, AFTER_INTERRUPT))
