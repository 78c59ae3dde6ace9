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

    python scripts/bench_single_envs.py                # one id per family, and PPO
    python scripts/bench_single_envs.py --quick        # fewer and shorter repeats
    python scripts/bench_single_envs.py --processes 5  # the same, in 5 fresh processes

A ratio measured in one process can differ from the same ratio measured in the next by more
than its repeats spread within a process. With ``--processes N`` the measurement runs N
times, one fresh process after another, and each row shows the median of the processes'
ratios with the lowest and the highest; a goal is **met** when every process met it, **not
met** when none did, and **undecided** otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import mtml_rl
from mtml_rl.cli.arguments import parse_arguments, positive_int
from mtml_rl.families.registry import get_family
from mtml_rl.families.sim import is_sim_family
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import script_exit_status

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
    :param processes: run the whole measurement this many times, each in a fresh process
    :param json_out: also write the rows and the PPO line to this JSON file
    """

    repeats: int = 25
    numpy_steps: int = 2000
    sim_steps: int = 400
    ppo_timesteps: int = 16384
    ppo_repeats: int = 5
    ids: tuple[str, ...] = ()
    seed: int = 0
    markdown: bool = False
    processes: int = 1
    json_out: str | None = None

    def measurement_argv(self, ids: Sequence[str], json_out: str) -> list[str]:
        """The arguments of one process of a ``--processes`` run: this measurement, once."""
        return [
            *("--repeats", str(self.repeats), "--numpy-steps", str(self.numpy_steps)),
            *("--sim-steps", str(self.sim_steps), "--ppo-timesteps", str(self.ppo_timesteps)),
            *("--ppo-repeats", str(self.ppo_repeats), "--seed", str(self.seed)),
            *("--json", json_out, "--ids", *ids),
        ]


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
    parser.add_argument("--repeats", type=positive_int, help="interleaved measurements per env (default 25)")
    parser.add_argument("--ids", nargs="+", default=(), help="spec ids to measure (default: one per family)")
    parser.add_argument("--ppo-timesteps", type=int, help="steps per PPO run (default 16384; 0 skips PPO)")
    parser.add_argument(
        "--numpy-steps", type=positive_int, help="steps per measurement of a numpy family (default 2000)"
    )
    parser.add_argument(
        "--sim-steps", type=positive_int, help="steps per measurement of a simulator family (default 400)"
    )
    parser.add_argument("--ppo-repeats", type=positive_int, help="PPO measurements per id (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        help="run the measurement N times, each in a fresh process",
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        help="also write the rows and the PPO line to this file (with --processes: each process's)",
    )
    args = parse_arguments(parser, argv)
    base = BenchConfig(repeats=3, numpy_steps=2000, sim_steps=300, ppo_timesteps=4096, ppo_repeats=2)
    base = base if args.quick else BenchConfig()
    return BenchConfig(
        repeats=args.repeats or base.repeats,
        numpy_steps=args.numpy_steps or base.numpy_steps,
        sim_steps=args.sim_steps or base.sim_steps,
        ppo_timesteps=base.ppo_timesteps if args.ppo_timesteps is None else args.ppo_timesteps,
        ppo_repeats=args.ppo_repeats or base.ppo_repeats,
        ids=tuple(args.ids),
        seed=args.seed,
        markdown=args.markdown,
        processes=args.processes,
        json_out=args.json_out,
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

    from mtml_rl.training.monitor import silence_logger

    venv = make_vec_env(env_id, n_envs=8, seed=cfg.seed)
    model = PPO("MlpPolicy", venv, seed=cfg.seed, device="cpu", **PPO_KWARGS)
    silence_logger(model)
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


def markdown(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """A Markdown table: the first two columns left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(columns) + " |", "|---|---|" + "---:|" * (len(columns) - 2)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    """The single-env rows as a Markdown table."""
    return markdown(COLUMNS, [row_cells(row) for row in rows])


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


# -- several processes --------------------------------------------------------------------------
class Spread(NamedTuple):
    """One ratio over the processes of a ``--processes`` run."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The median, the lowest and the highest of ``values``."""
        return cls(statistics.median(values), min(values), max(values))

    def cell(self, suffix: str = "", digits: int = 2) -> str:
        """``median [lowest, highest]`` with ``digits`` decimals."""
        return f"{self.median:.{digits}f}{suffix} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def verdict(spread: Spread, goal: float, *, at_most: bool = False) -> str:
    """``met`` where every process met ``goal`` (at least it, or at most it), ``not met``
    where none did, ``undecided`` otherwise."""
    if (spread.high <= goal) if at_most else (spread.low >= goal):
        return "met"
    if (spread.low > goal) if at_most else (spread.high < goal):
        return "not met"
    return "undecided"


class SpreadRow(NamedTuple):
    """One family over the processes: ratios against the reference (``None``: no reference)
    and the cost of the history window."""

    spec_id: str
    reference_id: str | None
    simulator: bool
    ratio: Spread | None
    history_ratio: Spread | None
    history_cost: Spread


def spread_rows(runs: Sequence[Sequence[Row]]) -> list[SpreadRow]:
    """Each family's row over the processes' rows (every process measured the same ids)."""
    rows = []
    for per_process in zip(*runs, strict=True):
        first = per_process[0]
        ratios = [r.ratio for r in per_process if r.ratio is not None]
        history = [r.history_ratio for r in per_process if r.history_ratio is not None]
        rows.append(
            SpreadRow(
                first.spec_id,
                first.reference_id,
                first.simulator,
                Spread.of(ratios) if ratios else None,
                Spread.of(history) if history else None,
                Spread.of([r.history_cost for r in per_process]),
            )
        )
    return rows


SPREAD_COLUMNS = ("id", "reference", "ratio", f"ratio H={HISTORY_LEN}", "history cost", "goal")


def spread_cells(row: SpreadRow) -> list[str]:
    """The printed cells of one family's row over the processes."""
    goal = GOALS["sim" if row.simulator else "numpy"]
    return [
        row.spec_id,
        row.reference_id or "—",
        "—" if row.ratio is None else row.ratio.cell(),
        "—" if row.history_ratio is None else row.history_ratio.cell(),
        row.history_cost.cell("x"),
        "—" if row.ratio is None else verdict(row.ratio, goal),
    ]


def spread_table(rows: list[SpreadRow], cfg: BenchConfig) -> Table | str:
    """The rows over the processes, as a rich table or as Markdown."""
    cells = [spread_cells(row) for row in rows]
    if cfg.markdown:
        return markdown(SPREAD_COLUMNS, cells)
    title = f"single env over {cfg.processes} processes: median [lowest, highest] of the processes' ratios"
    table = Table(title=escape(title))
    for column in SPREAD_COLUMNS:
        table.add_column(column, justify="left" if column in ("id", "reference") else "right")
    for row_cells_ in cells:
        table.add_row(*row_cells_)
    return table


def overall(verdicts: Sequence[str]) -> str:
    """A goal over several rows: not met if any row's is not, met if every row's is."""
    if "not met" in verdicts:
        return "NOT met"
    return "met" if all(v == "met" for v in verdicts) else "undecided"


def spread_goal_lines(rows: list[SpreadRow], ppo: Spread | None) -> list[str]:
    """One line per goal over the processes: met, not met or undecided, with the numbers (three
    decimals, so that a lowest process just under a goal does not print as the goal)."""
    lines = []
    for kind, label in (("numpy", "numpy families"), ("sim", "simulator families")):
        kept = [(r.spec_id, r.ratio) for r in rows if r.simulator == (kind == "sim") and r.ratio is not None]
        if kept:
            judged = {spec_id: verdict(ratio, GOALS[kind]) for spec_id, ratio in kept}
            below = [
                f"{spec_id} {ratio.cell(digits=3)}" for spec_id, ratio in kept if judged[spec_id] != "met"
            ]
            detail = "; ".join(below) if below else "every process, every row"
            lines.append(
                f"{label} >= {GOALS[kind]} of reference: {overall(list(judged.values()))} ({detail})"
            )
    costs = [r for r in rows if not r.simulator]
    if costs:
        cost_verdicts = [verdict(r.history_cost, GOALS["history"], at_most=True) for r in costs]
        worst = max(costs, key=lambda r: r.history_cost.high)
        goal = f"H={HISTORY_LEN} history on numpy families <= {GOALS['history']}x"
        lines.append(
            f"{goal}: {overall(cost_verdicts)} (highest {worst.spec_id} {worst.history_cost.cell('x', 3)})"
        )
    if ppo is not None:
        status = overall([verdict(ppo, GOALS["ppo"])])
        lines.append(
            f"SB3 PPO via make_vec_env >= {GOALS['ppo']} of reference: {status} ({ppo.cell(digits=3)})"
        )
    return lines


def write_json(path: str, rows: list[Row], ppo: PPORow | None) -> None:
    """One process's rows and PPO line, for the process that started it."""
    data = {"rows": [row._asdict() for row in rows], "ppo": None if ppo is None else ppo._asdict()}
    atomic_write_text(path, json.dumps(data))


def write_processes_json(path: str, runs: list[list[Row]], ppos: list[PPORow]) -> None:
    """``--json`` with ``--processes``: every process's rows and PPO line, in the order run."""
    data = {
        "processes": [
            {"rows": [row._asdict() for row in rows], "ppo": ppos[i]._asdict() if i < len(ppos) else None}
            for i, rows in enumerate(runs)
        ]
    }
    atomic_write_text(path, json.dumps(data))


def read_json(path: Path) -> tuple[list[Row], PPORow | None]:
    """What :func:`write_json` wrote."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Row(**row) for row in data["rows"]], None if data["ppo"] is None else PPORow(**data["ppo"])


def measure_in_processes(cfg: BenchConfig, console: Console) -> tuple[list[list[Row]], list[PPORow]]:
    """The measurement run ``cfg.processes`` times, each in a fresh process, one after another."""
    ids = cfg.ids or default_ids()
    runs: list[list[Row]] = []
    ppos: list[PPORow] = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(cfg.processes):
            out = Path(folder) / f"{index}.json"
            command = [sys.executable, str(Path(__file__).resolve()), *cfg.measurement_argv(ids, str(out))]
            with console.status(f"process {index + 1} of {cfg.processes} ..."):
                result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise SystemExit(f"process {index + 1} of {cfg.processes} failed:\n{result.stderr.strip()}")
            rows, ppo = read_json(out)
            runs.append(rows)
            ppos += [] if ppo is None else [ppo]
    return runs, ppos


def main_processes(cfg: BenchConfig, console: Console) -> int:
    """``--processes N``: measure in N fresh processes, print the rows and goals over them."""
    console.print(f"load average at the start (1, 5, 15 min): {load_average()}")
    runs, ppos = measure_in_processes(cfg, console)
    rows = spread_rows(runs)
    table = spread_table(rows, cfg)
    print(table) if isinstance(table, str) else console.print(table)
    ppo = Spread.of([p.ratio for p in ppos]) if ppos else None
    if ppo is not None:
        console.print(
            escape(
                f"SB3 PPO, make_vec_env(n_envs=8), {cfg.ppo_timesteps} steps, {cfg.ppo_repeats} paired "
                f"runs per process: ratio {ppo.cell()} (median [lowest, highest] of the processes' medians)"
            )
        )
    for line in spread_goal_lines(rows, ppo):
        console.print(escape(line))
    if cfg.json_out is not None:
        write_processes_json(cfg.json_out, runs, ppos)
    console.print(f"load average at the end (1, 5, 15 min): {load_average()}")
    console.print(machine())
    return 0


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
    if cfg.processes > 1:
        return main_processes(cfg, console)
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
    if cfg.json_out is not None:
        write_json(cfg.json_out, rows, ppo)
    console.print(f"load average at the end (1, 5, 15 min): {load_average()}")
    console.print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("bench_single_envs.py", main))
