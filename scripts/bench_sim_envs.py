"""Steps per second of SimVectorEnv against Gymnasium's Sync- and AsyncVectorEnv over plain MuJoCo.

Measured in one process, with random actions drawn up front, at ``--num-envs`` slots:

- ``mtml sim``: ``make_task_vector_env("mtml/HalfCheetahVel-v0", num_envs=N)``, the env
  training uses: a different train task in every slot, the spec's 200-step time limit,
  SAME_STEP autoreset;
- ``mtml sim H=16``: the same with the 16-transition history window ``adapt`` trains with
  (``context="privileged"``);
- ``mtml sim unsplit``: ``mtml sim`` with each simulator stepped by its own ``step``
  rather than the split step (``mtml_rl.families.mujoco_split``; the same results);
- ``mtml sim threads=T``: ``mtml sim`` with its simulators stepped on ``T`` threads
  (``sim_threads=T``; ``--threads``, default ``auto``: one per usable CPU, at most N);
- ``gym sync``: ``SyncVectorEnv`` of N ``HalfCheetah-v5`` made with ``gym.make`` (its
  1000-step time limit, SAME_STEP autoreset, Gymnasium's default wrappers);
- ``gym async``: ``AsyncVectorEnv`` of the same N envs, one worker process each.

Each measurement steps for ``--budget`` seconds after a warm-up, ``--repeats`` times with
the envs interleaved; the medians are reported, and ratios (to ``gym sync``) are of medians
of the same run. Two rates: env steps per second of wall time, and per second of this
process's CPU time (all its threads; not given for ``gym async``, whose work is in its
worker processes). On a loaded machine the CPU-time rates of the single-threaded envs are
the steadier comparison; the threads and the worker processes gain wall time only where
cores are idle, so the second line gives the usable CPUs and the load average. Usage::

    python scripts/bench_sim_envs.py               # 8 slots
    python scripts/bench_sim_envs.py --num-envs 16 --threads 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from mtml_rl.cli.arguments import parse_arguments, positive_float, positive_int
from mtml_rl.envs import make_task_vector_env
from mtml_rl.envs.sim_threads import resolve_sim_threads, usable_cpus
from mtml_rl.lifetime import script_exit_status

SPEC_ID = "mtml/HalfCheetahVel-v0"
GYM_ID = "HalfCheetah-v5"
ACTION_BANK = 64


def steps_per_second(
    env: gym.vector.VectorEnv, budget_s: float, warmup: int, seed: int
) -> tuple[float, float]:
    """Env steps (slots x vector steps) per second of wall time and per second of this
    process's CPU time (all its threads), of random actions, after a warm-up."""
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


def make_gym() -> gym.Env:
    """One ``HalfCheetah-v5`` with Gymnasium's default wrappers (a picklable worker factory)."""
    return gym.make(GYM_ID)


def unsplit(env: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
    """``env`` with its simulators stepped whole (``env.step``), not through their split step."""
    env.slots.splits = None  # type: ignore[attr-defined]
    return env


def split_step_note(env: gym.vector.VectorEnv) -> str:
    """Whether ``env``'s simulators step through their split step: only where the installed
    Gymnasium has the code it reproduces (``mtml_rl.families.mujoco_split``); elsewhere
    ``mtml sim`` and ``mtml sim unsplit`` step alike."""
    if env.slots.splits is not None:  # type: ignore[attr-defined]
        return "split step: on (the installed Gymnasium's HalfCheetah step is the one reproduced)"
    return (
        "split step: off (the installed Gymnasium's HalfCheetah step or MuJoCo simulation differs "
        "from the code mtml_rl.families.mujoco_split reproduces; each simulator steps whole)"
    )


def builders(n: int, threads: int) -> dict[str, Callable[[], gym.vector.VectorEnv]]:
    """The envs compared, by column name."""
    same_step = AutoresetMode.SAME_STEP
    return {
        "mtml sim": lambda: make_task_vector_env(SPEC_ID, num_envs=n),
        "mtml sim H=16": lambda: make_task_vector_env(
            SPEC_ID, num_envs=n, context="privileged", history_len=16
        ),
        "mtml sim unsplit": lambda: unsplit(make_task_vector_env(SPEC_ID, num_envs=n)),
        f"mtml sim threads={threads}": lambda: make_task_vector_env(SPEC_ID, num_envs=n, sim_threads=threads),
        "gym sync": lambda: SyncVectorEnv([make_gym] * n, autoreset_mode=same_step),
        "gym async": lambda: AsyncVectorEnv([make_gym] * n, autoreset_mode=same_step),
    }


def main() -> None:
    """Measure and print steps/s and the ratios to ``gym sync``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=positive_int, default=8)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--budget", type=positive_float, default=2.0, help="seconds per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="auto", help="sim_threads of the threaded column")
    args = parse_arguments(parser)
    threads = resolve_sim_threads(
        args.threads if args.threads == "auto" else int(args.threads), args.num_envs
    )
    envs = {name: build() for name, build in builders(args.num_envs, threads).items()}
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    load_start = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, env in envs.items():
            rates[name].append(steps_per_second(env, args.budget, warmup=50, seed=args.seed))
    wall = {name: statistics.median(r[0] for r in values) for name, values in rates.items()}
    cpu = {name: statistics.median(r[1] for r in values) for name, values in rates.items()}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N = {args.num_envs} slots, median of {args.repeats} x {args.budget:g} s")
    print(f"{usable_cpus()} usable CPUs, load average at the start {load_start:.2f}, at the end {load}")
    print(split_step_note(envs["mtml sim"]))
    print(f"{'':>20}  {'steps/s':>8} {'ratio':>6}   {'steps/CPU-s':>11} {'ratio':>6}")
    for name in envs:
        cpu_part = (
            "(workers)" if name == "gym async" else f"{cpu[name]:11.0f} {cpu[name] / cpu['gym sync']:6.3f}"
        )
        print(f"{name:>20}: {wall[name]:8.0f} {wall[name] / wall['gym sync']:6.3f}   {cpu_part}")
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_sim_envs.py", main))
