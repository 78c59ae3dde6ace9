"""The quickstart: ``dr``, ``oracle`` and ``adapt`` on CartPole at a small budget, one report.

At the default budget (60k PPO steps; 20k phase-2 steps for ``adapt``) and profile
(``fast``) the deployed ``adapt`` agent, which never sees the pole length or the actuator's
sign, scores well above the context-blind ``dr`` on the held-out interpolation and
extrapolation tasks, at the level of the ``oracle`` that reads them (the oracle's policy is
``adapt``'s phase 1, trained once for both). The hyperparameters are pinned here, so that
tuning the shipped defaults cannot change what the quickstart shows.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtml_rl.benchmark.config import BenchmarkConfig, EvalSettings
from mtml_rl.errors import ConfigError

if TYPE_CHECKING:
    from mtml_rl.benchmark.runner import BenchmarkResult

ENV = "mtml/CartPole-v0"
METHODS = ["dr", "oracle", "adapt"]
SPLITS = ["train", "test-interpolation", "test-extrapolation"]
DEFAULT_TIMESTEPS = 60_000
"""PPO steps per method (``adapt``: phase 1), unless ``--timesteps`` or the variable say otherwise."""
SEEDS = [0, 1]
"""Two seeds: the intervals resample runs within each task, so one seed would give none."""
EPISODES = 5
"""Evaluation episodes per task (from fixed, distinct reset seeds)."""
TIMESTEPS_VARIABLE = "MTML_QUICKSTART_TIMESTEPS"
"""Environment variable with a reduced budget (CI)."""
PPO: dict[str, Any] = {
    "n_envs": 8,
    "normalize": False,
    "n_steps": 64,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": "lin_0.001",
    "clip_range": "lin_0.2",
    "policy_kwargs": {"net_arch": [64, 64]},
}
"""PPO's CartPole hyperparameters, pinned."""
DEFAULT_PROFILE = "fast"
"""The quickstart's profile unless told otherwise: on the quickstart's seeds ``fast`` trains
every method to higher returns than ``default`` in about two thirds of the CPU time
(README, Quickstart)."""
PROFILES: dict[str, dict[str, Any]] = {
    "default": PPO,
    "fast": {**PPO, "n_envs": 32, "n_steps": 32, "batch_size": 512, "n_epochs": 20},
}
"""The pinned hyperparameters of each profile: ``fast`` is ``PPO`` with the ``fast``
profile's CartPole entry over it (``mtml_rl/hyperparams/fast.yaml``)."""
HISTORY_ARCH = "mlp"
"""The adaptation module's encoder, pinned: the MLP infers CartPole's task as well as the
oracle's latent at this budget and is the cheapest (the quickstart must stay short)."""
ADAPT_EPOCHS = 4
"""Phase 2's regression epochs, pinned below the method's default (32): on the quickstart's
seeds ``adapt`` deploys at the oracle's level with 4 (IQM 1.00 / 1.01 / 1.00 on train /
interpolation / extrapolation) as with 32 (1.00 / 1.00 / 1.00), and 32 made the whole
quickstart take 97 s instead of 77 s (179 against 146 CPU-s; two runs minutes apart on 2
idle cores)."""


def resolve_timesteps(timesteps: int | None) -> int:
    """``timesteps``, else :data:`TIMESTEPS_VARIABLE`, else :data:`DEFAULT_TIMESTEPS`."""
    if timesteps is None:
        text = os.environ.get(TIMESTEPS_VARIABLE, "").strip()
        if not text:
            return DEFAULT_TIMESTEPS
        if not text.isdigit():
            raise ConfigError(f"{TIMESTEPS_VARIABLE} must be a positive integer, got {text!r}")
        timesteps = int(text)
    if timesteps < 1:
        raise ConfigError(f"the quickstart budget must be a positive number of steps, got {timesteps}")
    return timesteps


def quickstart_config(
    timesteps: int,
    out: str | Path,
    workers: int | None = None,
    seeds: list[int] | None = None,
    profile: str = DEFAULT_PROFILE,
) -> BenchmarkConfig:
    """The quickstart's grid: CartPole × (dr, oracle, adapt) at ``timesteps`` PPO steps,
    ``timesteps / 3`` phase-2 steps for ``adapt``.

    :param timesteps: PPO steps per method
    :param out: the run folder
    :param workers: parallel trials (default: one per core)
    :param seeds: training seeds (default: :data:`SEEDS`)
    :param profile: the hyperparameters, a key of :data:`PROFILES`
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown quickstart profile {profile!r}; choose one of {', '.join(PROFILES)}")
    adapt_timesteps = max(timesteps // 3, 64)
    return BenchmarkConfig(
        envs=[ENV],
        methods=list(METHODS),
        seeds=list(seeds or SEEDS),
        timesteps=timesteps,
        out=str(out),
        name=f"mtml-rl quickstart: CartPole, {timesteps} PPO steps",
        train={"hyperparams": dict(PROFILES[profile]), "eval_freq": 0, "save_freq": 0},
        method_overrides={
            "adapt": {
                "history_arch": HISTORY_ARCH,
                "adapt_epochs": ADAPT_EPOCHS,
                "adapt_timesteps": adapt_timesteps,
                "adapt_iterations": min(10, max(2, adapt_timesteps // 2000)),
            }
        },
        workers=workers,
        evaluation=EvalSettings(splits=list(SPLITS), episodes=EPISODES),
    )


@dataclass(frozen=True)
class QuickstartResult:
    """The quickstart's benchmark result, its budget and wall time.

    :param benchmark: what the benchmark did (the report is ``benchmark.comparison.report``)
    :param timesteps: PPO steps per method
    :param wall_s: seconds it took
    """

    benchmark: BenchmarkResult
    timesteps: int
    wall_s: float


def run_quickstart(
    timesteps: int | None = None,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    seeds: list[int] | None = None,
    progress: bool | None = None,
    profile: str = DEFAULT_PROFILE,
) -> QuickstartResult:
    """Train, evaluate and compare ``dr``, ``oracle`` and ``adapt`` on CartPole.

    :param timesteps: PPO steps per method (default: :func:`resolve_timesteps`)
    :param out: the run folder (default: ``runs/quickstart-<time>``)
    :param workers: parallel trials (default: one per core)
    :param seeds: training seeds (default: :data:`SEEDS`)
    :param progress: show progress (default: when stderr is a terminal)
    :param profile: the hyperparameters, a key of :data:`PROFILES`
    """
    steps = resolve_timesteps(timesteps)
    folder = Path(out) if out is not None else Path("runs") / f"quickstart-{time.strftime('%Y%m%d-%H%M%S')}"
    start = time.monotonic()
    from mtml_rl.benchmark.runner import run_benchmark  # torch: not needed for the CLI's flags

    result = run_benchmark(quickstart_config(steps, folder, workers, seeds, profile), progress=progress)
    return QuickstartResult(result, steps, time.monotonic() - start)
