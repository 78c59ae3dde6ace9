"""``rl2`` training throughput: sb3-contrib's per-step LSTM loop against one LSTM call per batch.

For CartPole and Pendulum, three cases train with the family's shipped hyperparameters
(``mtml_rl/hyperparams/recurrentppo.yaml`` for ``rl2``, ``ppo.yaml`` for PPO) through mtml-rl's
training builders, each in a fresh subprocess with one torch thread and no callbacks, timing
``model.learn`` alone:

- ``before``: ``rl2`` as it trained before, with sb3-contrib's ``_process_sequence``, which
  steps the LSTM one timestep at a time over every padded minibatch that holds an episode start;
- ``now``: ``rl2`` as it trains now (:mod:`mtml_rl.policies.recurrent`: one LSTM call per
  batch of sequences, the same parameters and hyperparameters);
- ``ppo``: ``dr`` with PPO on the same family, for scale.

Cases run interleaved (one round = every case once) and the table shows medians over rounds;
the ratios are paired per round (same machine load), on wall-clock and on CPU time.

Usage::

    python scripts/bench_rl2.py                       # 8,192 steps, 3 rounds
    python scripts/bench_rl2.py --timesteps 16384 --rounds 5 --families cartpole
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mtml_rl.benchmark.throughput import (
    LearnTiming,
    print_before_and_after,
    run_rounds,
    run_worker,
    time_learn,
)
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.lifetime import script_exit_status

FAMILIES = {"cartpole": "mtml/CartPole-v0", "pendulum": "mtml/Pendulum-v0"}
CASES = ("before", "now", "ppo")
GOAL = 3.0
"""``now`` over ``before``, steps per second."""
SEED = 0


def build(family: str, case: str) -> Any:
    """The case's model, built as training builds it (no callbacks)."""
    from mtml_rl.specs.spec import resolve_spec
    from mtml_rl.training import TrainConfig
    from mtml_rl.training.builders import build_env, build_model, resolve_algo

    method = "dr" if case == "ppo" else "rl2"
    config = TrainConfig(env=FAMILIES[family], method=method, algo="ppo", seed=SEED)
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    stack = build_env(config, spec, hp, hp.n_envs)
    return build_model(config, algo, hp, stack)


def use_per_step_loop() -> None:
    """Make rl2's policy run sb3-contrib's own ``_process_sequence`` (the path before)."""
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    from mtml_rl.policies.recurrent import MultiInputSequenceLstmPolicy, SequenceLstmPolicy

    stepped = staticmethod(RecurrentActorCriticPolicy._process_sequence)
    for policy in (SequenceLstmPolicy, MultiInputSequenceLstmPolicy):
        policy._process_sequence = stepped  # type: ignore[assignment]


def worker(family: str, case: str, timesteps: int) -> LearnTiming:
    """Build the case's model, then time ``learn`` alone."""
    import torch as th

    th.set_num_threads(1)
    if case == "before":
        use_per_step_loop()
    return time_learn(build(family, case), timesteps, case, family)


def measure(family: str, case: str, timesteps: int) -> LearnTiming:
    """Run one case in a fresh interpreter."""
    return run_worker(__file__, ["--worker", family, case, "--timesteps", str(timesteps)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=positive_int, default=8192, help="training steps per run")
    parser.add_argument("--rounds", type=positive_int, default=3, help="repetitions of every case")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--worker", nargs=2, metavar=("FAMILY", "CASE"), help=argparse.SUPPRESS)
    args = parse_arguments(parser, argv)
    if args.worker:
        family, case = args.worker
        print(worker(family, case, args.timesteps).to_json())
        return 0
    print(f"command: python scripts/bench_rl2.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    results = run_rounds(
        args.families,
        args.cases,
        args.rounds,
        lambda family, case: measure(family, case, args.timesteps),
        lambda line: print(line, flush=True),
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"\nrl2 training throughput: {args.timesteps:,} steps x {args.rounds} rounds, 1 thread, seed {SEED}"
    )
    print_before_and_after(results, CASES, "ppo", goal=GOAL)
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_rl2.py", main))
