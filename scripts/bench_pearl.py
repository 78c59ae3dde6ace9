"""``pearl`` training throughput: every posterior computed from scratch against each one once.

A gradient step of SB3's SAC on ``pearl`` asks the critic's posterior encoder for five
posteriors: the actor's on ``o`` and ``o'``, the target critic's on ``o'``, the critic's on
``o`` for its loss and again for the actor's loss, with a backward pass through the encoder
after each of the last two. Three cases train with the family's shipped SAC hyperparameters
(``mtml_rl/hyperparams/sac.yaml``) through mtml-rl's training builders, each in a fresh
subprocess with one torch thread and no callbacks, timing ``model.learn`` alone:

- ``before``: ``pearl`` as it trained before: every posterior computed from scratch and the
  actor's loss backpropagated through the critic's encoder (whose gradients SAC discards);
- ``now``: ``pearl`` as it trains now (:mod:`mtml_rl.policies.pearl`: the actor's posterior on
  ``o`` kept for the critic's loss, the critic's features detached in the actor's loss), which
  gives the same parameters (a test checks it bit for bit);
- ``sac``: ``oracle`` with SAC on the same family, for scale.

Cases run interleaved (one round = every case once) and the table shows medians over rounds;
the ratios are paired per round (same machine load), on wall-clock and on CPU time.

Usage::

    python scripts/bench_pearl.py                     # 3,000 steps, 3 rounds
    python scripts/bench_pearl.py --timesteps 5000 --rounds 5 --families pointnav
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

FAMILIES = {"pendulum": "mtml/Pendulum-v0", "pointnav": "mtml/PointNav-v0"}
CASES = ("before", "now", "sac")
SEED = 0


def build(family: str, case: str) -> Any:
    """The case's model, built as training builds it (no callbacks)."""
    from mtml_rl.specs.spec import resolve_spec
    from mtml_rl.training import TrainConfig
    from mtml_rl.training.builders import build_env, build_model, resolve_algo

    method = "oracle" if case == "sac" else "pearl"
    config = TrainConfig(env=FAMILIES[family], method=method, algo="sac", seed=SEED)
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    stack = build_env(config, spec, hp, hp.n_envs)
    return build_model(config, algo, hp, stack)


def recompute_every_posterior() -> None:
    """Make ``pearl`` compute every posterior from scratch and backpropagate the actor's loss
    through the critic's encoder (the path before)."""
    import torch as th
    from stable_baselines3.common.policies import ContinuousCritic

    from mtml_rl.policies.pearl import PearlCritic, PearlExtractor

    def detached_posterior(
        self: PearlExtractor, observations: dict[str, th.Tensor]
    ) -> tuple[th.Tensor, th.Tensor]:
        with th.no_grad():
            return self.posterior(observations)

    PearlExtractor.detached_posterior = detached_posterior  # type: ignore[method-assign]
    PearlCritic.forward = ContinuousCritic.forward  # type: ignore[method-assign]


def worker(family: str, case: str, timesteps: int) -> LearnTiming:
    """Build the case's model, then time ``learn`` alone."""
    import torch as th

    th.set_num_threads(1)
    if case == "before":
        recompute_every_posterior()
    return time_learn(build(family, case), timesteps, case, family)


def measure(family: str, case: str, timesteps: int) -> LearnTiming:
    """Run one case in a fresh interpreter."""
    return run_worker(__file__, ["--worker", family, case, "--timesteps", str(timesteps)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=positive_int, default=3000, help="training steps per run")
    parser.add_argument("--rounds", type=positive_int, default=3, help="repetitions of every case")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--worker", nargs=2, metavar=("FAMILY", "CASE"), help=argparse.SUPPRESS)
    args = parse_arguments(parser, argv)
    if args.worker:
        family, case = args.worker
        print(worker(family, case, args.timesteps).to_json())
        return 0
    print(f"command: python scripts/bench_pearl.py {' '.join(sys.argv[1:])}".rstrip())
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
        f"\npearl training throughput: {args.timesteps:,} steps x {args.rounds} rounds, 1 thread, seed {SEED}"
    )
    print_before_and_after(results, CASES, "sac")
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_pearl.py", main))
