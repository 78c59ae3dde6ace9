"""Steps per second of the MT10 vector env against Meta-World's own synchronous MT10 vector env.

Measured in one process, with random actions drawn up front, 10 slots each:

- ``mtml MT10``: ``make_task_vector_env("mtml/MT10-v3", num_envs=10)``, the env training
  uses: slot ``i`` runs environment ``i`` with one of its 50 train tasks drawn at every reset
  by the slot's seeded scheduler (``info`` carries each slot's task index), Meta-World's
  500-step episodes, SAME_STEP autoreset, success latched per episode;
- ``mtml MT10 ctx+H=16``: the same with the per-slot context (one-hot env and positions,
  ``context="privileged"``) and the 16-transition history window ``adapt`` trains with;
- ``metaworld sync``: ``gym.make_vec("Meta-World/MT10", vector_strategy="sync", seed=0)``,
  Meta-World's own (one environment per slot, a random task of its 50 at every reset, its
  wrappers: time limit, success termination off, episode statistics, task selection).

Each measurement steps for ``--budget`` seconds after a warm-up, ``--repeats`` times with the
envs interleaved; the medians are reported, and ratios are of medians of the same run. Two
rates: env steps per second of wall time and per second of this process's CPU time (every
env here steps in this process, one thread); on a loaded machine the CPU-time ratios are the
steadier ones, and the load average is printed with them. Usage::

    python scripts/bench_metaworld.py
    python scripts/bench_metaworld.py --repeats 5 --budget 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from mtml_rl.cli.arguments import parse_arguments, positive_float, positive_int
from mtml_rl.envs import make_task_vector_env
from mtml_rl.lifetime import script_exit_status

SPEC_ID = "mtml/MT10-v3"
ACTION_BANK = 64
SLOTS = 10


def steps_per_second(
    env: gym.vector.VectorEnv, budget_s: float, warmup: int, seed: int
) -> tuple[float, float]:
    """Env steps (slots x vector steps) per second of wall time and per second of this
    process's CPU time, of random actions, after a warm-up."""
    rng = np.random.default_rng(seed)
    shape = env.action_space.shape
    assert shape is not None
    bank = rng.uniform(-1.0, 1.0, (ACTION_BANK, *shape)).astype(np.float32)
    env.reset(seed=seed)
    for k in range(warmup):
        env.step(bank[k % ACTION_BANK])
    steps, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < budget_s:
        for k in range(ACTION_BANK):
            env.step(bank[k])
        steps += ACTION_BANK
    cpu = time.process_time() - cpu_start
    return steps * env.num_envs / elapsed, steps * env.num_envs / cpu


def metaworld_mt10() -> gym.vector.VectorEnv:
    """Meta-World's own synchronous MT10 vector env."""
    import metaworld  # noqa: F401 - registers the Meta-World ids

    return gym.make_vec("Meta-World/MT10", vector_strategy="sync", seed=0)


def builders() -> dict[str, Callable[[], gym.vector.VectorEnv]]:
    """The envs compared, by column name."""
    return {
        "mtml MT10": lambda: make_task_vector_env(SPEC_ID, num_envs=SLOTS),
        "mtml MT10 ctx+H=16": lambda: make_task_vector_env(
            SPEC_ID, num_envs=SLOTS, context="privileged", history_len=16
        ),
        "metaworld sync": metaworld_mt10,
    }


def main() -> None:
    """Measure and print steps/s and the ratios to Meta-World's own vector env."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--budget", type=positive_float, default=3.0, help="seconds per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parse_arguments(parser)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Meta-World's own env warns about its observation space
        envs = {name: build() for name, build in builders().items()}
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
        load_start = os.getloadavg()[0]
        for _ in range(args.repeats):
            for name, env in envs.items():
                rates[name].append(steps_per_second(env, args.budget, warmup=50, seed=args.seed))
    wall = {name: statistics.median(r[0] for r in values) for name, values in rates.items()}
    cpu = {name: statistics.median(r[1] for r in values) for name, values in rates.items()}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"MT10, {SLOTS} slots, median of {args.repeats} x {args.budget:g} s")
    print(f"load average at the start {load_start:.2f}, at the end {load}")
    print(f"{'':>20}  {'steps/s':>8} {'ratio':>6}   {'steps/CPU-s':>11} {'ratio':>6}")
    base = "metaworld sync"
    for name in envs:
        print(
            f"{name:>20}: {wall[name]:8.0f} {wall[name] / wall[base]:6.3f}   "
            f"{cpu[name]:11.0f} {cpu[name] / cpu[base]:6.3f}"
        )
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_metaworld.py", main))
