"""Steps per second of every family's single env against the Gymnasium env it reproduces,
and SB3 PPO trained through ``make_vec_env`` on an mtml-rl id against the reference id.

Measured in one run, with the ratios of each row taken against the reference measured in
the same run:

- ``ours``: ``gym.make(id, task=<the family's reference task>)``, hidden context, no history,
  with the reference's time limit (so both run the same episodes: at that task each family
  reproduces its reference step for step);
- ``ours H=16``: the same with a 16-transition history window in the observation;
- ``reference``: ``gym.make(reference_id)`` with the family's constructor arguments
  (Meta-World: ``Meta-World/MT1`` of the task's environment, ML1_reach-v3 measured);
- ``PPO``: ``PPO("MlpPolicy", make_vec_env(id, n_envs=8))`` learning with the suite's PPO
  settings for CartPole (rl-baselines3-zoo's), on ``mtml/CartPole-v0`` (a new train task
  at every reset) and on ``CartPole-v1``.

Random actions are drawn up front from the action space and mapped to the reference's
(Pendulum's torque is twice ours). Each measurement runs a chunk of steps on each env of a
row in turn, ``--repeats`` times (the envs interleaved, in alternating order, each
continuing its own episodes). Times are the CPU time of this process (everything runs in
one thread). The table shows each env's fastest chunk as steps per second (the raw rates);
each ratio is the median, over the repeats, of the ratio of the two envs' chunks of the
same repeat (run back to back, so that both meet the same load), with the ratio of the
fastest chunks next to it. On a machine shared with other work the fastest chunks of two
envs may come from different moments; a paired ratio compares chunks that met the same
disturbance, and the median discards the repeats a burst of other work hit in between.
PPO's ratio is the median of its paired runs likewise. The machine's load average is
printed at the start and the end. Usage::

    python scripts/bench_single_envs.py            # one id per family, and PPO
    python scripts/bench_single_envs.py --quick    # fewer and shorter repeats
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import mtml_rl
from mtml_rl.families.registry import get_family
from mtml_rl.families.sim import is_sim_family

HISTORY_LEN = 16
ACTION_SCALE = {"pendulum": 2.0}
"""Gymnasium's action = scale * ours, where the two differ."""
PPO_ID, PPO_REFERENCE_ID = "mtml/CartPole-v0", "CartPole-v1"
PPO_KWARGS: dict[str, Any] = {
    "n_steps": 64,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "policy_kwargs": {"net_arch": [64, 64]},
}
"""The suite's PPO settings for CartPole (mtml_rl/hyperparams/ppo.yaml, from rl-baselines3-zoo),
with constant learning rate and clip range."""
GOALS = {"numpy": 0.9, "sim": 0.95, "ppo": 0.97, "history": 1.3}
REPRESENTATIVE = {"metaworld": "mtml/ML1_reach-v3"}
"""The id measured for a family with several built-in ids (default: the first in sorted order)."""


def reference_kwargs(family: Any, task: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of the family's reference id: its ``env_kwargs``, and for
    Meta-World's ``Meta-World/MT1`` the task's environment."""
    kwargs = dict(getattr(family, "env_kwargs", {}))
    if family.reference_id == "Meta-World/MT1":
        import metaworld  # noqa: F401 - registers the Meta-World ids

        kwargs["env_name"] = str(task["env"])
    return kwargs


@dataclass(frozen=True)
class BenchConfig:
    """What to measure.

    :param repeats: interleaved measurements per env (rates: the fastest; ratios: the
        median of the repeats' paired ratios)
    :param numpy_steps: steps per measurement of a numpy family
    :param sim_steps: steps per measurement of a simulator family
    :param ppo_timesteps: environment steps per PPO measurement (0: skip PPO)
    :param ppo_repeats: PPO measurements per id
    :param ids: the spec ids to measure (default: one built-in id per family)
    :param seed: seed of the actions, the envs and PPO
    :param markdown: print the tables as Markdown (for the README)
    """

    repeats: int = 25
    numpy_steps: int = 2000
    sim_steps: int = 400
    ppo_timesteps: int = 16384
    ppo_repeats: int = 5
    ids: tuple[str, ...] = ()
    seed: int = 0
    markdown: bool = False


class Row(NamedTuple):
    """One family: steps per second of the fastest chunks, and ratios (``None``: no
    reference): medians of paired ratios, and the ratio of the fastest chunks."""

    spec_id: str
    reference_id: str | None
    ours: float
    history: float
    reference: float | None
    ratio: float | None
    history_ratio: float | None
    history_cost: float
    simulator: bool
    fastest_ratio: float | None = None


class PPORow(NamedTuple):
    """PPO's environment steps per second on both ids (fastest runs), the median of the
    paired runs' ratios, and the ratio of the fastest runs."""

    ours: float
    reference: float
    ratio: float
    fastest_ratio: float


def parse_args(argv: Sequence[str] | None = None) -> BenchConfig:
    """Command-line options to a :class:`BenchConfig`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats of shorter chunks; PPO 4096 steps")
    parser.add_argument("--repeats", type=int, help="interleaved measurements per env (default 25)")
    parser.add_argument("--ids", nargs="+", default=(), help="spec ids to measure (default: one per family)")
    parser.add_argument("--ppo-timesteps", type=int, help="steps per PPO run (default 16384; 0 skips PPO)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    base = BenchConfig(repeats=3, numpy_steps=2000, sim_steps=300, ppo_timesteps=4096, ppo_repeats=2)
    base = base if args.quick else BenchConfig()
    return BenchConfig(
        repeats=args.repeats or base.repeats,
        numpy_steps=base.numpy_steps,
        sim_steps=base.sim_steps,
        ppo_timesteps=base.ppo_timesteps if args.ppo_timesteps is None else args.ppo_timesteps,
        ppo_repeats=base.ppo_repeats,
        ids=tuple(args.ids),
        seed=args.seed,
        markdown=args.markdown,
    )


# -- single envs --------------------------------------------------------------------------------
def default_ids() -> tuple[str, ...]:
    """One built-in id per family whose extra is installed: :data:`REPRESENTATIVE`'s, or the
    family's first."""
    chosen: dict[str, str] = {}
    for spec_id in sorted(mtml_rl.builtin_specs()):
        family = mtml_rl.resolve_spec(spec_id).family
        modules = getattr(get_family(family), "required_modules", ())
        if all(importlib.util.find_spec(m) is not None for m in modules):
            chosen.setdefault(family, spec_id)
    return tuple(sorted(REPRESENTATIVE.get(family, spec_id) for family, spec_id in chosen.items()))


def reference_task(family: Any) -> dict[str, Any]:
    """The family's task that reproduces its reference env (its defaults where none does)."""
    task = family.reference_task() if is_sim_family(family) else None
    return (task or family.default_task()).as_dict()


def make_envs(spec_id: str) -> tuple[dict[str, gym.Env[Any, Any]], str | None]:
    """``ours``, ``history`` and (where the family has one) ``reference`` envs of a spec."""
    family = get_family(mtml_rl.resolve_spec(spec_id).family)
    reference_id = family.reference_id
    reference = None
    limit = None
    task = reference_task(family)
    if reference_id is not None:
        reference = gym.make(reference_id, **reference_kwargs(family, task))
        limit = reference.spec.max_episode_steps if reference.spec is not None else None
    envs = {
        "ours": gym.make(spec_id, task=task, max_episode_steps=limit),
        "history": gym.make(spec_id, task=task, max_episode_steps=limit, history_len=HISTORY_LEN),
    }
    if reference is not None:
        envs["reference"] = reference
    return envs, reference_id


def action_bank(spec_id: str, space: gym.spaces.Space[Any], n: int, seed: int) -> dict[str, list[Any]]:
    """``n`` random actions for our envs and the same actions as the reference takes them."""
    space.seed(seed)
    ours = [space.sample() for _ in range(n)]
    scale = ACTION_SCALE.get(mtml_rl.resolve_spec(spec_id).family)
    theirs = ours if scale is None else [(np.float32(scale) * a).astype(np.float32) for a in ours]
    return {"ours": ours, "history": ours, "reference": theirs}


def seconds_per_step(env: gym.Env[Any, Any], actions: list[Any]) -> float:
    """CPU seconds per step over ``actions``, resetting finished episodes."""
    step, reset = env.step, env.reset
    start = time.process_time()
    for action in actions:
        out = step(action)
        if out[2] or out[3]:
            reset()
    return (time.process_time() - start) / len(actions)


def measure_family(spec_id: str, cfg: BenchConfig) -> Row:
    """Paired measurements of one family's envs, the envs of a repeat run back to back."""
    envs, reference_id = make_envs(spec_id)
    simulator = is_sim_family(get_family(mtml_rl.resolve_spec(spec_id).family))
    n = cfg.sim_steps if simulator else cfg.numpy_steps
    actions = action_bank(spec_id, envs["ours"].action_space, n, cfg.seed)
    for env in envs.values():
        env.reset(seed=cfg.seed)
        seconds_per_step(env, actions["ours" if env is not envs.get("reference") else "reference"][:50])
    times: dict[str, list[float]] = {name: [] for name in envs}
    names = list(envs)
    for repeat in range(cfg.repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:  # no env always runs first
            times[name].append(seconds_per_step(envs[name], actions[name]))
    for env in envs.values():
        env.close()
    return summarize(spec_id, reference_id, times, simulator)


def paired_ratio(slower: Sequence[float], faster: Sequence[float]) -> float:
    """The median over repeats of ``slower[r] / faster[r]`` (times of two envs in the same
    repeat): how many times faster the second env ran, repeat by repeat."""
    return statistics.median(a / b for a, b in zip(slower, faster, strict=True))


def summarize(spec_id: str, reference_id: str | None, times: dict[str, list[float]], simulator: bool) -> Row:
    """Rates from the fastest of each env's repeats; ratios from the paired repeats (and of
    the fastest repeats)."""
    best = {name: min(values) for name, values in times.items()}
    ref = times.get("reference")
    return Row(
        spec_id,
        reference_id,
        1.0 / best["ours"],
        1.0 / best["history"],
        None if ref is None else 1.0 / min(ref),
        None if ref is None else paired_ratio(ref, times["ours"]),
        None if ref is None else paired_ratio(ref, times["history"]),
        paired_ratio(times["history"], times["ours"]),
        simulator,
        None if ref is None else min(ref) / best["ours"],
    )


# -- SB3 PPO ------------------------------------------------------------------------------------
def ppo_seconds(env_id: str, cfg: BenchConfig) -> float:
    """CPU seconds of one ``PPO.learn`` of ``cfg.ppo_timesteps`` steps on ``make_vec_env(env_id)``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=8, seed=cfg.seed)
    model = PPO("MlpPolicy", venv, seed=cfg.seed, device="cpu", **PPO_KWARGS)
    start = time.process_time()
    model.learn(total_timesteps=cfg.ppo_timesteps)
    elapsed = time.process_time() - start
    venv.close()
    return elapsed


def measure_ppo(cfg: BenchConfig) -> PPORow:
    """PPO on both ids, interleaved in alternating order; steps per second of the fastest
    run of each, the median of the paired runs' ratios and the ratio of the fastest runs."""
    import torch

    torch.set_num_threads(1)
    ours: list[float] = []
    theirs: list[float] = []
    for repeat in range(cfg.ppo_repeats):
        pair = {PPO_ID: ours, PPO_REFERENCE_ID: theirs}
        for env_id in pair if repeat % 2 == 0 else reversed(pair):
            pair[env_id].append(ppo_seconds(env_id, cfg))
    steps = cfg.ppo_timesteps
    return PPORow(steps / min(ours), steps / min(theirs), paired_ratio(theirs, ours), min(theirs) / min(ours))


# -- output -------------------------------------------------------------------------------------
def _k(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e3:.1f} k"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


COLUMNS: tuple[str, ...] = ("id", "reference", "reference steps/s", "ours", "ratio", "ratio of fastest")
COLUMNS += (f"ours H={HISTORY_LEN}", "ratio H", "history cost", "goal")


def row_cells(row: Row) -> list[str]:
    """The printed cells of one family's row."""
    goal = GOALS["sim" if row.simulator else "numpy"]
    return [
        row.spec_id,
        row.reference_id or "—",
        _k(row.reference),
        _k(row.ours),
        _x(row.ratio),
        _x(row.fastest_ratio),
        _k(row.history),
        _x(row.history_ratio),
        f"{row.history_cost:.2f}x",
        "—" if row.ratio is None else ("met" if row.ratio >= goal else f"< {goal}"),
    ]


def family_table(rows: list[Row], cfg: BenchConfig) -> Table:
    """The single-env rows as a rich table."""
    title = f"single env, steps per CPU second (fastest of {cfg.repeats} interleaved runs)"
    table = Table(title=f"{title}; ratios: median of the paired runs' ratios")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("id", "reference") else "right")
    for row in rows:
        table.add_row(*row_cells(row))
    return table


def markdown_table(rows: list[Row]) -> str:
    """The single-env rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    lines += ["| " + " | ".join(row_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def goal_lines(rows: list[Row], ppo: PPORow | None) -> list[str]:
    """One line per goal: met or not, with the numbers."""
    lines = []
    for kind, label in (("numpy", "numpy families"), ("sim", "simulator families")):
        ratios = {r.spec_id: r.ratio for r in rows if r.simulator == (kind == "sim") and r.ratio is not None}
        if ratios:
            worst = min(ratios, key=lambda k: ratios[k])
            status = "met" if ratios[worst] >= GOALS[kind] else "NOT met"
            lines.append(
                f"{label} >= {GOALS[kind]} of reference: {status} (lowest {worst} {ratios[worst]:.2f})"
            )
    costs = {r.spec_id: r.history_cost for r in rows if not r.simulator}
    if costs:
        worst = max(costs, key=lambda k: costs[k])
        status = "met" if costs[worst] <= GOALS["history"] else "NOT met"
        goal = f"H={HISTORY_LEN} history on numpy families <= {GOALS['history']}x"
        lines.append(f"{goal}: {status} (highest {worst} {costs[worst]:.2f}x)")
    if ppo is not None:
        status = "met" if ppo.ratio >= GOALS["ppo"] else "NOT met"
        lines.append(f"SB3 PPO via make_vec_env >= {GOALS['ppo']} of reference: {status} ({ppo.ratio:.2f})")
    return lines


def load_average() -> str:
    """The machine's load averages over 1, 5 and 15 minutes (``n/a`` where unknown)."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def machine() -> str:
    """The machine and library versions, for the record."""
    import stable_baselines3

    return (
        f"{datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}, numpy {np.__version__}, "
        f"gymnasium {gym.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
        f"mtml-rl {mtml_rl.__version__}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the tables and the goals."""
    cfg = parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=160)
    console.print(f"load average at the start (1, 5, 15 min): {load_average()}")
    ids = cfg.ids or default_ids()
    rows = []
    for spec_id in ids:
        with console.status(f"measuring {spec_id} ..."):
            rows.append(measure_family(spec_id, cfg))
    if cfg.markdown:
        print(markdown_table(rows))
    else:
        console.print(family_table(rows, cfg))
    ppo = None
    if cfg.ppo_timesteps > 0:
        with console.status("measuring SB3 PPO ..."):
            ppo = measure_ppo(cfg)
        console.print(
            f"SB3 PPO, make_vec_env(n_envs=8), {cfg.ppo_timesteps} steps, best of {cfg.ppo_repeats}: "
            f"{PPO_ID} {ppo.ours:.0f} steps/s, {PPO_REFERENCE_ID} {ppo.reference:.0f} steps/s, "
            f"ratio {ppo.ratio:.2f} (median of paired runs; of the fastest runs {ppo.fastest_ratio:.2f})"
        )
    for line in goal_lines(rows, ppo):
        console.print(line)
    console.print(f"load average at the end (1, 5, 15 min): {load_average()}")
    console.print(machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
