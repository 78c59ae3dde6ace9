"""Instructions (and simulated cache misses) per step of single envs against their Gymnasium
references, counted by valgrind: a measure that the machine's load does not move.

The envs, tasks, time limits and random actions are those of ``scripts/bench_single_envs.py``
(``reference``, ``ours`` and ``ours H=16`` of each id). Each env runs a warm-up of 200 steps,
then ``--steps`` steps (resetting finished episodes, as the timed benchmark does) inside one
``functools.reduce`` call; valgrind's callgrind counts only inside that call
(``--toggle-collect``) and writes one count per env (``--dump-after``), so interpreter
start-up, imports and env construction are not counted. ``ratio`` is the reference's
instructions per step over ours (comparable with the timed benchmark's steps-per-second
ratio where instructions decide the time).

With ``--cache-sim`` callgrind also simulates the first-level instruction and data caches and
the last-level cache (with the host's sizes) and counts their misses per step: how much of a
timed gap beyond the instruction gap the caches can explain. Needs ``valgrind`` on the
``PATH``; under valgrind the process runs about 50 to 100 times slower. Usage::

    python scripts/count_step_instructions.py --ids mtml/MountainCarContinuous-v0
    python scripts/count_step_instructions.py --ids mtml/HalfCheetahParams-v0 --steps 1000 --cache-sim
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.lifetime import script_exit_status

ENVS = ("reference", "ours", "history")
"""The envs of a row, in the order they are counted."""
WARMUP = 200
"""Steps each env runs, uncounted, before its counted steps."""
EVENTS = {"Ir": "instructions", "I1mr": "I1 misses", "D1mr": "D1 read misses", "D1mw": "D1 write misses"}
EVENTS |= {"ILmr": "LL instruction misses", "DLmr": "LL read misses", "DLmw": "LL write misses"}
"""Callgrind's event names and what they count."""


class Count(NamedTuple):
    """One env's counts per step (callgrind event name to count)."""

    spec_id: str
    env: str
    per_step: dict[str, float]


def bench_module() -> ModuleType:
    """``scripts/bench_single_envs.py``, whose envs and actions are counted."""
    path = Path(__file__).resolve().parent / "bench_single_envs.py"
    spec = importlib.util.spec_from_file_location("bench_single_envs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


def run_row(spec_id: str, steps: int, seed: int) -> list[str]:
    """Step each env of ``spec_id``'s row, the counted steps inside one ``functools.reduce``;
    the names of the envs run, in order (run under valgrind by :func:`count_row`)."""
    bench = bench_module()
    envs, _ = bench.make_envs(spec_id)
    actions = bench.action_bank(spec_id, envs["ours"].action_space, WARMUP + steps, seed)
    names = [name for name in ENVS if name in envs]
    for name in names:
        env = envs[name]
        step, reset = env.step, env.reset

        def one(_: Any, action: Any, step: Any = step, reset: Any = reset) -> None:
            out = step(action)
            if out[2] or out[3]:
                reset()

        env.reset(seed=seed)
        for action in actions[name][:WARMUP]:
            one(None, action)
        functools.reduce(one, actions[name][WARMUP:], None)
        env.close()
    return names


def parse_dump(text: str) -> dict[str, int]:
    """A callgrind dump's totals by event name (its ``events:`` and ``summary:`` lines)."""
    events: list[str] = []
    totals: list[int] = []
    for line in text.splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith(("summary:", "totals:")) and not totals:
            totals = [int(value) for value in line.split()[1:]]
    if not events or len(totals) > len(events):
        raise ValueError("not a callgrind dump: no events: and summary: lines")
    return dict(zip(events, totals + [0] * (len(events) - len(totals)), strict=True))


def count_row(spec_id: str, steps: int, seed: int, cache_sim: bool) -> list[Count]:
    """Run :func:`run_row` under callgrind; each env's counts per counted step."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not on the PATH; install it (e.g. apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no"]
        command += ["--toggle-collect=functools_reduce", "--dump-after=functools_reduce"]
        command += [f"--cache-sim={'yes' if cache_sim else 'no'}", sys.executable, __file__]
        command += ["--child", spec_id, "--steps", str(steps), "--seed", str(seed)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        names = result.stdout.split()
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        if result.returncode != 0 or len(dumps) < len(names):
            raise SystemExit(f"valgrind run of {spec_id} failed:\n{result.stderr[-2000:]}")
        # the last dumps are the envs' (a library may call functools.reduce while importing)
        counts = [parse_dump(dump.read_text(encoding="utf-8")) for dump in dumps[len(dumps) - len(names) :]]
    return [
        Count(spec_id, n, {k: v / steps for k, v in c.items()}) for n, c in zip(names, counts, strict=True)
    ]


def table(counts: list[Count]) -> str:
    """The counts as a Markdown table: per step, and ours against the reference."""
    events = [e for e in EVENTS if counts and e in counts[0].per_step]
    lines = ["| id | env | " + " | ".join(f"{EVENTS[e]}/step" for e in events) + " | ratio |"]
    lines.append("|---|---|" + "---:|" * (len(events) + 1))
    reference = {c.spec_id: c.per_step["Ir"] for c in counts if c.env == "reference"}
    for c in counts:
        ref = reference.get(c.spec_id)
        ratio = "—" if ref is None or c.env == "reference" else f"{ref / c.per_step['Ir']:.3f}"
        cells = " | ".join(f"{c.per_step[e]:,.0f}" for e in events)
        lines.append(f"| {c.spec_id} | {c.env} | {cells} | {ratio} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Count and print the table (or, with ``--child``, run one row under valgrind)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--ids", nargs="+", default=(), help="spec ids (default: one per family)")
    parser.add_argument("--steps", type=int, default=2000, help="counted steps per env (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-sim", action="store_true", help="also simulate the caches")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parse_arguments(parser, argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.child:
        print(" ".join(run_row(args.child, args.steps, args.seed)), flush=True)
        return 0
    counts = []
    for spec_id in args.ids or bench_module().default_ids():
        counts += count_row(spec_id, args.steps, args.seed, args.cache_sim)
    print(table(counts))
    return 0


if __name__ == "__main__":
    sys.exit(script_exit_status("count_step_instructions.py", main))
