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
import statistics
import sys
from typing import Any

from mtml_rl.benchmark.throughput import LearnTiming, paired_ratios, run_worker, time_learn

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


def report(results: dict[tuple[str, str], list[LearnTiming]], timesteps: int, rounds: int) -> None:
    """Medians per case; ``now`` over ``before`` (the goal) and ``rl2`` over PPO, paired per round."""
    print(f"\nrl2 training throughput: {timesteps:,} steps x {rounds} rounds, 1 thread, seed {SEED}")
    print(
        f"{'family':9s} {'case':7s} {'steps/s':>9s} {'steps/CPU-s':>12s} {'vs before':>10s} "
        f"{'(CPU)':>7s} {'CPU range':>12s} {'vs ppo (CPU)':>13s}"
    )
    for family in sorted({f for f, _ in results}):
        before, ppo = results.get((family, "before")), results.get((family, "ppo"))
        for case in CASES:
            runs = results.get((family, case))
            if not runs:
                continue
            wall = paired_ratios(runs, before, cpu=False) if before else []
            cpu = paired_ratios(runs, before, cpu=True) if before else []
            vs_ppo = statistics.median(paired_ratios(runs, ppo, cpu=True)) if ppo and case != "ppo" else None
            verdict = (
                f" {'ok' if statistics.median(wall) >= GOAL else 'below'} (goal {GOAL:g}x)"
                if (case == "now" and wall)
                else ""
            )
            print(
                f"{family:9s} {case:7s} {statistics.median(m.steps_per_second for m in runs):9,.0f} "
                f"{statistics.median(m.steps_per_cpu_second for m in runs):12,.0f} "
                f"{_cell(wall, '{:.2f}x')} {_cell(cpu, '{:.2f}x')} "
                f"{f'{min(cpu):.2f}-{max(cpu):.2f}' if cpu else '':>12s} "
                f"{'' if vs_ppo is None else f'{vs_ppo:.2f}':>13s}{verdict}"
            )
    print("vs before: median over rounds of the case's throughput over 'before' in the same round")
    print("(wall clock, then CPU time, with the range over rounds); vs ppo: the same against PPO.")


def _cell(values: list[float], pattern: str) -> str:
    return f"{pattern.format(statistics.median(values)) if values else '':>10s}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timesteps", type=int, default=8192, help="training steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of every case")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--worker", nargs=2, metavar=("FAMILY", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        family, case = args.worker
        print(worker(family, case, args.timesteps).to_json())
        return 0
    print(f"command: python scripts/bench_rl2.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    results: dict[tuple[str, str], list[LearnTiming]] = {}
    for round_index in range(args.rounds):
        for family in args.families:
            for case in args.cases:
                m = measure(family, case, args.timesteps)
                results.setdefault((family, case), []).append(m)
                print(
                    f"round {round_index + 1}/{args.rounds} {family:9s} {case:7s} "
                    f"{m.steps_per_second:8,.0f} steps/s {m.steps_per_cpu_second:8,.0f} steps/CPU-s",
                    flush=True,
                )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report(results, args.timesteps, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
