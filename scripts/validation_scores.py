"""Score runs, or their checkpoints, on a validation draw: fresh tasks of the train region.

For choosing a method's setting without looking at a test split (e.g. ``pearl``'s KL weight):
every run given plays ``--episodes`` deterministic episodes as one trial on each of ``--tasks``
tasks drawn from the spec's train region with a seed of their own (``--draw-seed``; none of
them in any split), task ``i`` reset with seed ``--seed + i``, deployed as its method deploys
it (context withheld unless the method is privileged). A run is a run folder, or
``FOLDER@step_N`` for its checkpoint ``checkpoints/step_N``. The script prints one markdown
row per run: the mean return of each episode of the trial and over all of them. Every run
must be trained on the same spec. The run folders are only read. ``--deploy-as`` deploys
every run as a method that trains as its own (``finetune`` for ``dr`` runs: each task's
clone fine-tuned first), ``--deployment`` sets that method's deployment fields.

Usage::

    python scripts/validation_scores.py RUNS/PointNav-pearl-s0 RUNS/PointNav-pearl-s1@step_25000
    python scripts/validation_scores.py RUNS/*-s0 --tasks 32 --draw-seed 1000 --episodes 2
    python scripts/validation_scores.py RUNS/MountainCarContinuous-dr-s0 --deploy-as finetune
    python scripts/validation_scores.py RUNS/PointNav-dr-s0 --deploy-as finetune \
        --deployment finetune_timesteps=1000 "finetune_hyperparams={n_steps: 32}"
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.lifetime import script_exit_status


def load_agent_at(
    argument: str, deploy_as: str | None = None, deployment: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """The run named by ``FOLDER`` or ``FOLDER@step_N`` and its deployed agent (deployed as
    ``deploy_as``, a method that trains as the run's own, with ``deployment``, if given)."""
    from mtml_rl.agents.loading import load_agent
    from mtml_rl.training import Run
    from mtml_rl.training.run import load_model

    folder, _, checkpoint = argument.partition("@")
    run = Run.load(folder)
    if deploy_as is not None or deployment:
        run = run.deployed_as(deploy_as or run.method.name, **(deployment or {}))
    if not checkpoint:
        return run, load_agent(run)
    path = Path(folder) / "checkpoints" / checkpoint
    if not path.is_dir():
        raise ValueError(f"{argument}: no checkpoint {checkpoint!r} in {folder}/checkpoints")
    model, normalizer = load_model(run.config, path)
    at = Run(run.path, run.config, run.spec, model, normalizer, path)
    return at, run.method.agent(at)


def episode_means(agent: Any, spec: Any, tasks: Sequence[Any], episodes: int, seed: int) -> list[float]:
    """Mean return of each episode of the trial over ``tasks`` (an agent with an adapt step,
    ``finetune``'s, adapted to each task first)."""
    from mtml_rl.rollouts import rollout_agent

    played = rollout_agent(agent, spec, tasks, trials=1, trial_episodes=episodes, seed=seed)
    return [float(np.mean([e.ret for e in played if e.episode == k])) for k in range(episodes)]


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders, or FOLDER@step_N for a checkpoint")
    parser.add_argument("--tasks", type=int, default=32, help="validation tasks (default: 32)")
    parser.add_argument("--draw-seed", type=int, default=1000, help="seed of the draw (default: 1000)")
    parser.add_argument("--seed", type=int, default=2000, help="reset seed of task 0 (task i: seed + i)")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per task, one trial (default: 2)")
    parser.add_argument(
        "--deploy-as",
        default=None,
        metavar="METHOD",
        help="deploy every run as METHOD, one that trains as the run's own (finetune for dr runs)",
    )
    parser.add_argument(
        "--deployment",
        nargs="+",
        default=None,
        metavar="FIELD=VALUE",
        help="values of the deploying method's deployment fields, e.g. finetune_timesteps=1000",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Print one row per run."""
    import torch as th

    from mtml_rl.cli.evaluate_cmd import deployment_values
    from mtml_rl.errors import MtmlError
    from mtml_rl.specs.splits import validation_tasks

    th.set_num_threads(1)
    options = parser()
    args = parse_arguments(options, argv)
    if args.tasks < 1 or args.episodes < 1:
        options.error("--tasks and --episodes must be at least 1")
    try:
        deployment = deployment_values(args.deployment or [])
        loaded = [load_agent_at(argument, args.deploy_as, deployment) for argument in args.runs]
    except (ValueError, MtmlError) as error:
        options.error(str(error))
    spec = loaded[0][0].spec
    if any(run.spec.id != spec.id for run, _ in loaded):
        options.error("every run must be trained on the same spec")
    tasks = validation_tasks(spec, args.tasks, args.draw_seed)
    print(
        f"{spec.id}, {args.tasks} validation tasks (draw seed {args.draw_seed}), reset seeds "
        f"{args.seed} + i, {args.episodes} episodes per task as one trial\n"
    )
    episodes = " | ".join(f"episode {k + 1}" for k in range(args.episodes))
    print(f"| run | method | {episodes} | all |")
    print("|---|---|" + "---:|" * (args.episodes + 1))
    for argument, (run, agent) in zip(args.runs, loaded, strict=True):
        means = episode_means(agent, spec, tasks, args.episodes, args.seed)
        cells = " | ".join(f"{m:.1f}" for m in means)
        print(f"| {argument} | {run.method.name} | {cells} | {np.mean(means):.1f} |")


if __name__ == "__main__":
    sys.exit(script_exit_status("validation_scores.py", main))
