"""Tune a method's hyperparameters with Optuna on the train split only.

    python scripts/tune.py --env mtml/Pendulum-v0 --method history --algo sac \\
        --trials 20 --timesteps 15000 --seeds 0 1
    python scripts/tune.py --env mtml/CartPole-v0 --method dr --trials 2 --timesteps 2000  # smoke test

Each trial trains ``--seeds`` runs of ``--timesteps`` steps with values drawn by a seeded TPE
sampler and scores them by their mean return on the train split's tasks; the runs train on
a copy of the spec whose test splits are empty, so no test task is ever built. Give every
method compared the same ``--trials``, ``--timesteps`` and ``--seeds`` (the same tuning
budget). The record (the search space, every trial, the chosen values, and this command) is
written to ``--out`` (default: ``tuning/<spec>-<method>-<algo>.yaml``). The search spaces
are in ``mtml_rl/benchmark/tuning.py``; see docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from mtml_rl.benchmark.tuning import TuneSetup, default_record_path, tune
from mtml_rl.errors import MtmlError


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, help="spec id or file")
    parser.add_argument("--method", required=True, help="the method to tune")
    parser.add_argument("--algo", default="ppo", help="its algorithm (default: ppo)")
    parser.add_argument("--trials", type=int, default=20, help="Optuna trials (default: 20)")
    parser.add_argument("--timesteps", type=int, required=True, help="training steps of every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds per trial")
    parser.add_argument("--episodes", type=int, default=1, help="scoring episodes per train task")
    parser.add_argument("--sampler-seed", type=int, default=0, help="the TPE sampler's seed")
    parser.add_argument(
        "--out", default=None, help="record file (default: tuning/<spec>-<method>-<algo>.yaml)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study and write its record; exit 2 on bad input."""
    args = parse_args(argv)
    if args.trials < 1 or args.timesteps < 1 or args.episodes < 1:
        print("tune: error: --trials, --timesteps and --episodes must be positive", file=sys.stderr)
        return 2
    setup = TuneSetup(
        args.env,
        args.method,
        args.algo,
        args.trials,
        args.timesteps,
        tuple(args.seeds),
        args.episodes,
        args.sampler_seed,
    )
    try:
        out = Path(args.out) if args.out else default_record_path(setup)
        record = tune(setup)
    except MtmlError as exc:
        print(f"tune: error: {exc}", file=sys.stderr)
        return 2
    record.command = shlex.join(["python", "scripts/tune.py", *(sys.argv[1:] if argv is None else argv)])
    record.write(out)
    print(f"best {record.best_score:.2f}: {record.best}\n(written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
