"""Compare the adaptation module's history encoders (``mlp``, ``conv``, ``gru``) by measurement.

For every family and seed, phase 1 of ``adapt`` (privileged context, history in the
observations) is trained once; phase 2 (DAgger, policy frozen) is then run from that
same phase-1 policy with each encoder, with the same settings, budget and seed. An encoder
is named ``ARCH`` (the default width, 64) or ``ARCH:WIDTH`` (``conv:16``: the convolution
with 16 channels), so widths can be compared as well as architectures. Each module is
measured on the train and interpolation splits: its latent error ``|ẑ − z|`` next to the
error of predicting the mean latent, and the deployed return (context withheld, acting
with ``ẑ``, one deterministic episode per task). The script prints the budgets, the seeds
and a markdown table of means ± standard deviations over seeds.

Usage::

    python scripts/compare_adaptation_archs.py                      # CartPole, PointNav, Pendulum; 3 seeds
    python scripts/compare_adaptation_archs.py --quick --seeds 0    # a smoke run
    python scripts/compare_adaptation_archs.py --archs conv conv:32 conv:16   # widths
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th

from mtml_rl.adaptation.module import AdaptationModule
from mtml_rl.adaptation.phase2 import Phase2Config, split_latent_error, train_adaptation
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.cli.arguments import DistinctValues, parse_arguments
from mtml_rl.io import atomic_write_text
from mtml_rl.lifetime import script_exit_status, worker_pool
from mtml_rl.policies.history import DEFAULT_HIDDEN, HISTORY_ARCHS, encoder_name, parse_encoder
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig, train

PHASE1_TIMESTEPS = {"CartPole": 60_000, "PointNav": 200_000, "Pendulum": 150_000}
"""Phase-1 environment steps per family."""
ADAPT_TIMESTEPS = 30_000
"""Phase-2 (DAgger) environment steps of every module (``TrainConfig``'s default)."""
EVAL_SEED = 100
"""Reset seed of the deployed rollouts."""
LATENT_SEED = 7
"""Reset seed of the latent-error rollouts."""
SPLITS = ("train", "test-interpolation")


def encoder_key(name: str) -> tuple[int, int]:
    """Sort key of an encoder name: the architecture's place in HISTORY_ARCHS, then the width."""
    arch, width = parse_encoder(name)
    return HISTORY_ARCHS.index(arch), width


@dataclass(frozen=True)
class Job:
    """One (family, seed) cell: a phase-1 run and a module per encoder.

    :param family: the spec's name (``CartPole`` ...)
    :param seed: seed of phase 1 and of every phase 2
    :param timesteps: phase-1 steps
    :param adapt_timesteps: phase-2 steps of each module
    :param archs: encoders to compare (``ARCH`` or ``ARCH:WIDTH``)
    :param root: folder of the runs
    """

    family: str
    seed: int
    timesteps: int
    adapt_timesteps: int
    archs: tuple[str, ...]
    root: str


@dataclass(frozen=True)
class ArchResult:
    """Measurements of one module.

    :param family: the spec's name
    :param seed: the seed
    :param arch: the encoder (``ARCH`` or ``ARCH:WIDTH``)
    :param latent: the module's latent error per split
    :param mean_latent: the mean latent's error per split
    :param returns: the deployed mean return per split
    :param phase2_seconds: wall-clock seconds of its phase 2
    """

    family: str
    seed: int
    arch: str
    latent: dict[str, float]
    mean_latent: dict[str, float]
    returns: dict[str, float]
    phase2_seconds: float


def train_phase1(job: Job) -> Run:
    """Train ``adapt``'s phase 1; its own phase 2 gets a token budget (every encoder is
    trained afterwards by :func:`train_module`, alike)."""
    config = TrainConfig(
        env=f"mtml/{job.family}-v0",
        method="adapt",
        timesteps=job.timesteps,
        adapt_timesteps=1,
        seed=job.seed,
        eval_freq=0,
        save_freq=0,
        num_threads=1,
        out=str(Path(job.root) / f"{job.family}-s{job.seed}"),
    )
    return train(config, force=True, progress=False)


def train_module(run: Run, encoder: str, timesteps: int) -> tuple[AdaptationModule, float]:
    """Phase 2 from ``run``'s frozen phase-1 policy with ``encoder`` (``ARCH`` or
    ``ARCH:WIDTH``): the run's recorded phase-2 settings and seed, ``timesteps`` steps;
    returns the module and its seconds."""
    recorded = json.loads((run.path / "final" / "adaptation.json").read_text(encoding="utf-8"))["phase2"]
    arch, width = parse_encoder(encoder)
    cfg = dataclasses.replace(Phase2Config(**recorded), arch=arch, hidden=width, timesteps=timesteps)
    start = time.perf_counter()
    module = train_adaptation(run.model, run.normalizer, run.spec, cfg, lambda step, metrics: None)
    return module, time.perf_counter() - start


def measure(run: Run, module: AdaptationModule, job: Job, arch: str, seconds: float) -> ArchResult:
    """Latent errors and deployed returns of one module on :data:`SPLITS`."""
    splits = build_splits(run.spec)
    agent = AdaptAgent(run, module=module)
    latent, mean_latent, returns = {}, {}, {}
    for name in SPLITS:
        tasks = list(splits[name].tasks)
        errors = split_latent_error(
            run.model, run.normalizer, module, run.spec, tasks, run.config.history_len, LATENT_SEED
        )
        latent[name], mean_latent[name] = errors.module, errors.mean_latent
        episodes = rollout_agent(agent, run.spec, tasks, seed=EVAL_SEED)
        returns[name] = float(np.mean([e.ret for e in episodes]))
    return ArchResult(job.family, job.seed, arch, latent, mean_latent, returns, seconds)


def run_job(job: Job) -> list[ArchResult]:
    """Every encoder of one (family, seed) cell, in a worker with one torch thread."""
    th.set_num_threads(1)
    run = train_phase1(job)
    results = []
    for arch in job.archs:
        module, seconds = train_module(run, arch, job.adapt_timesteps)
        results.append(measure(run, module, job, arch, seconds))
    print(f"done {job.family} seed {job.seed}", flush=True)
    return results


def _cell(values: Sequence[float], digits: int) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def table(results: Sequence[ArchResult]) -> str:
    """Markdown: per family and encoder, means ± standard deviations over seeds."""
    lines = [
        "| family | arch | latent err train (mean-z) | latent err interp (mean-z) "
        "| return train | return interp | phase 2 s |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r.family, r.arch) for r in results}, key=lambda k: (k[0], encoder_key(k[1])))
    for family, arch in keys:
        rows = [r for r in results if r.family == family and r.arch == arch]
        cells = [family, arch]
        for split in SPLITS:
            ref = np.mean([r.mean_latent[split] for r in rows])
            cells.append(f"{_cell([r.latent[split] for r in rows], 3)} ({ref:.3f})")
        cells += [_cell([r.returns[s] for r in rows], 1) for s in SPLITS]
        cells.append(f"{np.mean([r.phase2_seconds for r in rows]):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--families", nargs="+", default=list(PHASE1_TIMESTEPS), choices=list(PHASE1_TIMESTEPS)
    )
    parser.add_argument("--seeds", action=DistinctValues, nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--archs",
        nargs="+",
        default=list(HISTORY_ARCHS),
        type=encoder_name,
        metavar="ARCH[:WIDTH]",
        help=f"encoders to compare: {', '.join(HISTORY_ARCHS)}, each at width {DEFAULT_HIDDEN} "
        "unless given (conv:32)",
    )
    parser.add_argument("--adapt-timesteps", type=int, default=ADAPT_TIMESTEPS)
    parser.add_argument("--quick", action="store_true", help="a tenth of every budget (a smoke run)")
    parser.add_argument("--workers", type=int, default=2, help="processes (one torch thread each)")
    parser.add_argument("--out", default=None, help="folder of the runs (default: a temporary one)")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    return parse_arguments(parser, argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, measure and print the comparison."""
    args = parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    root = args.out or tempfile.mkdtemp(prefix="compare-archs-")
    adapt_steps = int(args.adapt_timesteps * scale)
    jobs = [
        Job(f, s, int(PHASE1_TIMESTEPS[f] * scale), adapt_steps, tuple(args.archs), root)
        for f in args.families
        for s in args.seeds
    ]
    print(f"seeds {args.seeds}; archs {args.archs}; phase-2 steps {adapt_steps}; runs in {root}")
    for f in args.families:
        print(f"  {f}: phase-1 steps {int(PHASE1_TIMESTEPS[f] * scale)} (PPO, shipped hyperparameters)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with worker_pool(args.workers) as pool:
        results = [r for rs in pool.map(run_job, jobs) for r in rs]
    if args.json:
        atomic_write_text(args.json, json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    print(table(results))


if __name__ == "__main__":
    sys.exit(script_exit_status("compare_adaptation_archs.py", main))
