"""Tune a method's hyperparameters with Optuna on the train split only.

    python scripts/tune.py --env mtml/Pendulum-v0 --method history --algo sac \\
        --trials 20 --timesteps 15000 --seeds 0 1
    python scripts/tune.py --env mtml/PointNav-v0 --method adapt \\
        --grid benchmarks/reproduce-small.yaml --trials 20 --seeds 10 --episodes 2
    python scripts/tune.py --env mtml/CartPole-v0 --method dr --trials 2 --timesteps 2000  # smoke test

Each trial trains ``--seeds`` runs of ``--timesteps`` steps with values drawn by a seeded TPE
sampler and scores them by their mean return on the train split's tasks; the runs train on
a copy of the spec whose test splits are empty, so no test task is ever built. Give every
method compared the same ``--trials``, ``--timesteps`` and ``--seeds`` (the same tuning
budget). With ``--grid``, every run trains as that benchmark grid trains the method on the
env (its algorithm, budget, phase-2 steps, profile, ...; ``--algo`` and ``--timesteps``
override its algorithm and budget), so the values are chosen under the protocol they will be
used with. The record (the setup, the search space, every trial, the chosen values, and this
command) is written to ``--out`` (default: ``tuning/<spec>-<method>-<algo>.yaml``) after
every trial; run the same command again to resume an interrupted study (finished trials are
kept, the next ones drawn as they would have been) or, with a larger ``--trials``, to extend
it. With ``--confirm-top K --confirm-seeds ...``, the K best trials and the scored defaults
then train again with those seeds, and the choice is the best of them over all their seeds
(for a family whose one-seed scores are mostly luck). The search spaces are in
``mtml_rl/benchmark/tuning.py``; see docs/benchmark.md.

    python scripts/tune.py --env mtml/MountainCarContinuous-v0 --method history \\
        --grid benchmarks/reproduce-small.yaml --trials 20 --seeds 10 --episodes 2 \\
        --score-defaults --confirm-top 3 --confirm-seeds 11 12
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.tuning import (
    DEFAULTS,
    Confirmation,
    TuneSetup,
    as_overrides,
    default_record_path,
    grid_protocol,
    search_space,
    tune,
)
from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.errors import ConfigError, MtmlError, exit_status
from mtml_rl.lifetime import report_interruption, sigterm_interrupts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, help="spec id or file")
    parser.add_argument("--method", required=True, help="the method to tune")
    parser.add_argument("--algo", default=None, help="its algorithm (default: the grid's, or ppo)")
    parser.add_argument("--trials", type=int, default=20, help="Optuna trials (default: 20)")
    parser.add_argument(
        "--timesteps", type=int, default=None, help="training steps of every run (default: the grid's)"
    )
    parser.add_argument(
        "--grid",
        default=None,
        help="a benchmark config: train every run as it trains this method on this env",
    )
    parser.add_argument(
        "--seeds", action=DistinctValues, type=int, nargs="+", default=[0], help="training seeds per trial"
    )
    parser.add_argument("--episodes", type=int, default=1, help="scoring episodes per train task")
    parser.add_argument(
        "--score-defaults",
        action="store_true",
        help="also train and score the method's default values the same way (recorded once)",
    )
    parser.add_argument(
        "--confirm-top",
        type=int,
        default=0,
        help="retrain the K best trials and the scored defaults with --confirm-seeds and choose "
        "the best over all seeds (default: 0, no confirmation)",
    )
    parser.add_argument(
        "--confirm-seeds",
        action=DistinctValues,
        type=int,
        nargs="+",
        default=[],
        help="the confirmation's extra training seeds",
    )
    parser.add_argument("--sampler-seed", type=int, default=0, help="the TPE sampler's seed")
    parser.add_argument(
        "--out", default=None, help="record file (default: tuning/<spec>-<method>-<algo>.yaml)"
    )
    return parse_arguments(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study and write its record; exit 2 on bad input."""
    args = parse_args(argv)
    command = shlex.join(["python", "scripts/tune.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        setup = make_setup(args)
        confirm = make_confirmation(args)
        out = Path(args.out) if args.out else default_record_path(setup)
        with sigterm_interrupts():
            record = tune(setup, out, score_defaults=args.score_defaults, confirm=confirm)
        choice = record.chosen_candidate()
    except MtmlError as exc:
        print(f"tune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return report_interruption("tune", exc, "finished trials are kept, the same command goes on")
    record.command = command
    record.write(out)
    print(f"best {record.best_score:.2f}: {record.best}\n(written to {out})")
    if record.defaults is not None:
        print(f"the default values score {record.defaults['score']:.2f}")
    confirmed = record.confirmed()
    for entry in confirmed:
        label = entry["candidate"] if entry["candidate"] == DEFAULTS else f"trial {entry['candidate']}"
        screen = float(np.mean(record.screen_scores(entry["candidate"])))
        print(f"candidate {label}: screen {screen:.2f}, over all its seeds {entry['score']:.2f}")
    if choice == DEFAULTS and confirmed:
        print("the default values score above every confirmed trial over all seeds: they are the choice")
    elif choice == DEFAULTS:
        print("the default values score above every trial: they are the choice (no override)")
    elif confirmed:
        print(f"the choice is trial {choice}")
    print("as a grid's method_overrides entry:")
    print(
        yaml.safe_dump(
            {setup.method: as_overrides(record.chosen())}, sort_keys=False, default_flow_style=None
        )
    )
    return 0


def make_confirmation(args: argparse.Namespace) -> Confirmation | None:
    """The confirmation the arguments ask for (``None``: none)."""
    if args.confirm_top == 0 and not args.confirm_seeds:
        return None
    if args.confirm_top < 1 or not args.confirm_seeds:
        raise ConfigError("a confirmation needs both --confirm-top K (K >= 1) and --confirm-seeds")
    return Confirmation(tuple(args.confirm_seeds), args.confirm_top)


def make_setup(args: argparse.Namespace) -> TuneSetup:
    """The study the arguments ask for (the grid's protocol fixed where ``--grid`` is given)."""
    algo, timesteps = args.algo, args.timesteps
    fixed: dict[str, Any] = {}
    if args.grid:
        grid_algo, grid_timesteps, fixed = grid_protocol(
            BenchmarkConfig.from_yaml(args.grid), args.env, args.method
        )
        algo = grid_algo if algo is None else algo
        timesteps = grid_timesteps if timesteps is None else timesteps
    if timesteps is None:
        raise ConfigError("give --timesteps (or a --grid whose budget for this env and method is set)")
    if args.trials < 1 or timesteps < 1 or args.episodes < 1:
        raise ConfigError("--trials, --timesteps and --episodes must be positive")
    setup = TuneSetup(
        args.env,
        args.method,
        algo or "ppo",
        args.trials,
        timesteps,
        tuple(args.seeds),
        args.episodes,
        args.sampler_seed,
    )
    searched = search_space(setup)  # the grid's values of searched fields would only be replaced
    return replace(setup, fixed={name: value for name, value in fixed.items() if name not in searched})


if __name__ == "__main__":
    sys.exit(exit_status("tune", main))
