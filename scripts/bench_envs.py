"""Steps per second of mtml-rl's batched multi-task vector env against Gymnasium's CartPole.

Measured in one run, at every N, with random actions drawn up front:

- ``mtml``: ``gym.make_vec("mtml/CartPole-v0", num_envs=N)``: a different train task in every
  slot (per-slot parameters), hidden context, no history;
- ``mtml next``: the same with Gymnasium's NEXT_STEP autoreset, the convention of
  Gymnasium's batched CartPole (no ``final_obs`` to build): the like-for-like comparison;
- ``next unchecked``: ``mtml next`` with ``validate_actions=False`` (no check that the actions
  lie in the action space; the other columns check them, as Gymnasium's batched CartPole does),
  so ``next / unchecked`` is what the check costs;
- ``mtml H=8``: ``mtml`` with an 8-transition history window in the observation;
- ``gym batched``: Gymnasium's own ``CartPoleVectorEnv`` (one fixed task);
- ``gym sync``: ``SyncVectorEnv`` of N single ``CartPole-v1`` envs (made with ``gym.make``).

After the table, the cost of the action check alone is printed per N (microseconds per step,
best of 7 timings, next to Gymnasium's ``action_space.contains``): on a loaded machine it is
a steadier figure than a ratio of two step rates. Every measurement steps for ``--budget``
seconds after a warm-up; each is repeated ``--repeats`` times, interleaving the envs, and the
median is reported. Ratios are of
medians measured in the same run. Usage::

    python scripts/bench_envs.py            # N = 64, 256, 1024, 4096
    python scripts/bench_envs.py --quick    # a short run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode
from rich.console import Console
from rich.table import Table

import mtml_rl  # noqa: F401  (registers the ids)
from mtml_rl.cli.arguments import parse_arguments, positive_float, positive_int
from mtml_rl.lifetime import script_exit_status

SPEC_ID = "mtml/CartPole-v0"
ACTION_BANK = 128
"""Action batches drawn up front per N; the benchmark cycles through them."""


@dataclass(frozen=True)
class BenchConfig:
    """What to measure.

    :param sizes: the numbers of envs N
    :param repeats: measurements per (env, N); the median is reported
    :param budget_s: seconds each measurement steps for
    :param warmup_steps: steps before the clock starts
    :param sync_max: largest N at which ``SyncVectorEnv`` is measured
    :param history_len: history window of the ``mtml H=...`` column
    :param seed: seed of the actions and of every env
    """

    sizes: tuple[int, ...] = (64, 256, 1024, 4096)
    repeats: int = 5
    budget_s: float = 1.0
    warmup_steps: int = 20
    sync_max: int = 4096
    history_len: int = 8
    seed: int = 0


class Row(NamedTuple):
    """Median steps per second of every env at one N (``None``: not measured)."""

    n: int
    rates: dict[str, float | None]


def parse_args(argv: Sequence[str] | None = None) -> BenchConfig:
    """Command-line options to a :class:`BenchConfig`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: N = 64, 1024; 3 repeats of 0.3 s")
    parser.add_argument("--sizes", type=int, nargs="+", help="numbers of envs (default 64 256 1024 4096)")
    parser.add_argument("--repeats", type=positive_int, help="measurements per env and N (default 5)")
    parser.add_argument("--budget", type=positive_float, help="seconds per measurement (default 1.0)")
    parser.add_argument("--sync-max", type=int, help="largest N for SyncVectorEnv (default 4096)")
    parser.add_argument("--seed", type=int, default=0, help="seed of actions and envs")
    args = parse_arguments(parser, argv)
    base = BenchConfig(sizes=(64, 1024), repeats=3, budget_s=0.3) if args.quick else BenchConfig()
    return BenchConfig(
        sizes=tuple(args.sizes) if args.sizes else base.sizes,
        repeats=args.repeats or base.repeats,
        budget_s=args.budget or base.budget_s,
        sync_max=args.sync_max or base.sync_max,
        seed=args.seed,
    )


def env_factories(cfg: BenchConfig) -> dict[str, Callable[[int], gym.vector.VectorEnv]]:
    """Builders of each benchmarked vector env, by column name."""
    return {
        "mtml": lambda n: gym.make_vec(SPEC_ID, num_envs=n, context="hidden"),
        "mtml next": lambda n: gym.make_vec(
            SPEC_ID, num_envs=n, context="hidden", autoreset_mode=AutoresetMode.NEXT_STEP
        ),
        "next unchecked": lambda n: gym.make_vec(
            SPEC_ID,
            num_envs=n,
            context="hidden",
            autoreset_mode=AutoresetMode.NEXT_STEP,
            validate_actions=False,
        ),
        f"mtml H={cfg.history_len}": lambda n: gym.make_vec(
            SPEC_ID, num_envs=n, context="hidden", history_len=cfg.history_len
        ),
        "gym batched": lambda n: CartPoleVectorEnv(num_envs=n),
        "gym sync": lambda n: gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="sync"),
    }


def steps_per_second(env: gym.vector.VectorEnv, actions: np.ndarray, cfg: BenchConfig) -> float:
    """Env steps per second (batched steps times N) over ``cfg.budget_s`` seconds."""
    env.reset(seed=cfg.seed)
    step = env.step
    for k in range(cfg.warmup_steps):
        step(actions[k % len(actions)])
    done_steps = 0
    start = time.perf_counter()
    deadline = start + cfg.budget_s
    while True:
        for batch in actions:
            step(batch)
        done_steps += len(actions)
        now = time.perf_counter()
        if now >= deadline:
            return done_steps * env.num_envs / (now - start)


def measure_size(n: int, cfg: BenchConfig) -> Row:
    """Median steps/s of every env at ``n`` envs, the envs interleaved across repeats."""
    rng = np.random.default_rng([cfg.seed, n])
    bank = max(8, min(ACTION_BANK, 2**17 // n))
    actions = rng.integers(0, 2, size=(bank, n), dtype=np.int64)
    envs: dict[str, Any] = {}
    for name, factory in env_factories(cfg).items():
        envs[name] = None if name == "gym sync" and n > cfg.sync_max else factory(n)
    samples: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(cfg.repeats):
        for name, env in envs.items():
            if env is not None:
                samples[name].append(steps_per_second(env, actions, cfg))
    for env in envs.values():
        if env is not None:
            env.close()
    return Row(n, {name: statistics.median(s) if s else None for name, s in samples.items()})


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:.2f} M"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.2f}x"


def build_table(rows: list[Row], cfg: BenchConfig) -> Table:
    """The results as a rich table: medians and ratios of ``mtml`` to the references."""
    history = f"mtml H={cfg.history_len}"
    table = Table(title=f"steps/s, median of {cfg.repeats} × {cfg.budget_s:g} s, random actions")
    rates = ("mtml", "mtml next", "next unchecked", history, "gym batched", "gym sync")
    for column in ("N", *rates):
        table.add_column(column, justify="right")
    columns = (
        "next / batched",
        "mtml / batched",
        "mtml / sync",
        f"H={cfg.history_len} / batched",
        "next / unchecked",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        r = row.rates
        table.add_row(
            str(row.n),
            *(_rate(r[name]) for name in rates),
            _ratio(r["mtml next"], r["gym batched"]),
            _ratio(r["mtml"], r["gym batched"]),
            _ratio(r["mtml"], r["gym sync"]),
            _ratio(r[history], r["gym batched"]),
            _ratio(r["mtml next"], r["next unchecked"]),
        )
    return table


def check_cost_us(n: int, cfg: BenchConfig) -> tuple[float, float]:
    """Microseconds per call, at ``n`` envs, of the vector env's action check and of Gymnasium's
    ``action_space.contains`` (what its batched CartPole asserts every step); best of 7."""
    env = gym.make_vec(SPEC_ID, num_envs=n, context="hidden")
    reference = CartPoleVectorEnv(num_envs=n)
    actions = np.random.default_rng([cfg.seed, n]).integers(0, 2, size=n, dtype=np.int64)
    ours_env: Any = env.unwrapped  # a MultiTaskVectorEnv: its own check, not Gymnasium's API
    check = ours_env._check_actions  # the shape and action-space check of every step
    loops = 2000
    ours = min(timeit.repeat(lambda: check(actions), number=loops, repeat=7)) / loops
    theirs = (
        min(timeit.repeat(lambda: reference.action_space.contains(actions), number=loops, repeat=7)) / loops
    )
    env.close()
    reference.close()
    return ours * 1e6, theirs * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    cfg = parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    rows = []
    for n in cfg.sizes:
        with console.status(f"measuring N = {n} ..."):
            rows.append(measure_size(n, cfg))
    console.print(build_table(rows, cfg))
    console.print(
        "Goal: at N >= 1024, >= 0.8 of Gymnasium's batched CartPole and >= 30x SyncVectorEnv. "
        "'next / batched' compares like with like (both NEXT_STEP autoreset, both checking every "
        "action against the action space; 'next / unchecked' is what that check costs); 'mtml' also builds "
        "info['final_obs'] (SAME_STEP, what SB3 needs). mtml draws a new train task per slot at "
        "every reset; gym batched runs one fixed task."
    )
    for n in cfg.sizes:
        ours, theirs = check_cost_us(n, cfg)
        console.print(
            f"action check at N = {n}: {ours:.1f} us per step "
            f"(Gymnasium's action_space.contains: {theirs:.1f} us)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_envs.py", main))
