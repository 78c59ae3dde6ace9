"""Steps per second of SimVectorEnv against Gymnasium's SyncVectorEnv over plain MuJoCo.

Measured in one process, with random actions drawn up front, at ``--num-envs`` slots:

- ``mtml sim``: ``make_task_vector_env("mtml/HalfCheetahVel-v0", num_envs=N)``, the env
  training uses: a different train task in every slot, the spec's 200-step time limit,
  SAME_STEP autoreset;
- ``mtml sim H=16``: the same with the 16-transition history window ``adapt`` trains with
  (``context="privileged"``);
- ``gym sync``: ``SyncVectorEnv`` of N ``HalfCheetah-v5`` made with ``gym.make`` (its
  1000-step time limit, SAME_STEP autoreset, Gymnasium's default wrappers).

Each measurement steps for ``--budget`` seconds after a warm-up, ``--repeats`` times with
the envs interleaved; the median is reported, and ratios are of medians of the same run.
Usage::

    python scripts/bench_sim_envs.py               # 8 slots
    python scripts/bench_sim_envs.py --num-envs 16
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from mtml_rl.envs import make_task_vector_env

SPEC_ID = "mtml/HalfCheetahVel-v0"
GYM_ID = "HalfCheetah-v5"
ACTION_BANK = 64


def steps_per_second(env: gym.vector.VectorEnv, budget_s: float, warmup: int, seed: int) -> float:
    """Env steps (slots x vector steps) per second of random actions, after a warm-up."""
    rng = np.random.default_rng(seed)
    shape = env.action_space.shape
    assert shape is not None
    bank = rng.uniform(-1.0, 1.0, (ACTION_BANK, *shape)).astype(np.float32)
    env.reset(seed=seed)
    for k in range(warmup):
        env.step(bank[k % ACTION_BANK])
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < budget_s:
        for k in range(ACTION_BANK):
            env.step(bank[k])
        steps += ACTION_BANK
    return steps * env.num_envs / elapsed


def builders(n: int) -> dict[str, Callable[[], gym.vector.VectorEnv]]:
    """The envs compared, by column name."""
    return {
        "mtml sim": lambda: make_task_vector_env(SPEC_ID, num_envs=n),
        "mtml sim H=16": lambda: make_task_vector_env(
            SPEC_ID, num_envs=n, context="privileged", history_len=16
        ),
        "gym sync": lambda: SyncVectorEnv(
            [lambda: gym.make(GYM_ID) for _ in range(n)], autoreset_mode=AutoresetMode.SAME_STEP
        ),
    }


def main() -> None:
    """Measure and print steps/s and the ratios to ``gym sync``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    envs = {name: build() for name, build in builders(args.num_envs).items()}
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(args.repeats):
        for name, env in envs.items():
            rates[name].append(steps_per_second(env, args.budget, warmup=50, seed=args.seed))
    base = statistics.median(rates["gym sync"])
    print(f"N = {args.num_envs} slots, median of {args.repeats} x {args.budget:g} s")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:>14}: {median:10.0f} env steps/s   ratio to gym sync {median / base:.3f}")
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
