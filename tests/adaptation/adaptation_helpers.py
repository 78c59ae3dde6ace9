"""Helpers of the adaptation tests: budgets, tiny configs and deployed returns.

Every run here uses one torch thread and a fixed seed, so its results are reproducible.
The transfer budget was chosen by measurement over seeds 0 to 4: at it, ``adapt`` beat
``dr`` on the interpolation split by a wide margin for every seed, not just for the seed
the test uses (the numbers are in ``docs/adaptation.md``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from mtml_rl.agents.policy import AdaptAgent, PolicyAgent
from mtml_rl.errors import ConfigError
from mtml_rl.methods import get_method, method_names
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig

CARTPOLE = "mtml/CartPole-v0"
TRANSFER_SEED = 0
"""The seed of the transfer test's runs."""
TRANSFER_TIMESTEPS = 40_000
"""Phase-1 (and ``dr``) environment steps of the transfer test."""
TRANSFER_ADAPT_TIMESTEPS = 20_000
"""Phase-2 (DAgger) environment steps of the transfer test."""
EVAL_SEED = 100
"""Reset seed of the deployed rollouts."""
TRANSFER_PPO: dict[str, Any] = {
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
"""PPO's CartPole hyperparameters, pinned so that tuning the shipped defaults cannot move
the transfer test's margins."""
TINY_PPO: dict[str, Any] = {"n_steps": 32, "batch_size": 64, "n_epochs": 1}
"""Overrides that keep a few hundred PPO (or RecurrentPPO) steps cheap."""
PENDULUM = "mtml/Pendulum-v0"
"""Where a method that needs continuous actions (SAC only) trains its tiny run."""
TINY_SAC: dict[str, Any] = {
    "learning_starts": 64,
    "batch_size": 32,
    "buffer_size": 1_000,
    "policy_kwargs": {"net_arch": [16], "features_extractor_kwargs": {"encoder_layers": [16]}},
}
"""Overrides that keep a few hundred SAC steps cheap."""

TinyRun = Callable[[str], Run]
"""The ``tiny_run`` fixture: ``tiny_run(method)`` is a trained tiny run of ``method``."""

HAS_LOADING = importlib.util.find_spec("mtml_rl.agents.loading") is not None
"""Whether ``load_agent`` (and with it the rl2 and finetune agents) exists yet."""
DEPLOYED_METHODS = tuple(m for m in method_names() if m != "oracle" and not get_method(m).needs_task_id)
"""Every method whose deployed agent must not read the true context (the multi-task methods
are given the task id, and only it: tests/methods/test_multitask.py)."""


def tiny_config(out: Path, method: str, **fields: Any) -> TrainConfig:
    """A cheap, seeded, one-thread config of ``method`` on CartPole writing to ``out``."""
    values: dict[str, Any] = {
        "env": CARTPOLE,
        "method": method,
        "timesteps": 256,
        "n_envs": 4,
        "seed": 0,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": dict(TINY_PPO),
        "adapt_timesteps": 128,
        "adapt_iterations": 2,
        "adapt_epochs": 1,
    }
    values.update(fields)
    return TrainConfig(**values)


def fits_cartpole(method: str) -> bool:
    """Whether ``method`` trains with PPO on CartPole's discrete actions (one trained only
    with SAC does not: its tiny run is on Pendulum)."""
    config = tiny_config(Path("unused"), method)
    try:
        config.resolved_method().algorithm(config, gym.spaces.Discrete(2))
    except ConfigError:
        return False
    return True


def tiny_run_config(out: Path, method: str) -> TrainConfig:
    """:func:`tiny_config` on CartPole, or on Pendulum with SAC for a method that needs it."""
    if fits_cartpole(method):
        return tiny_config(out, method)
    return tiny_config(out, method, env=PENDULUM, algo="sac", hyperparams=dict(TINY_SAC))


def transfer_config(out: Path, method: str) -> TrainConfig:
    """The transfer test's config of ``method``: pinned hyperparameters, budget and seed."""
    return TrainConfig(
        env=CARTPOLE,
        method=method,
        hyperparams=dict(TRANSFER_PPO),
        timesteps=TRANSFER_TIMESTEPS,
        adapt_timesteps=TRANSFER_ADAPT_TIMESTEPS,
        seed=TRANSFER_SEED,
        eval_freq=0,
        save_freq=0,
        num_threads=1,
        out=str(out),
    )


def deployed_agent(run: Run) -> Any:
    """The agent a run deploys as (``load_agent`` where it exists)."""
    if HAS_LOADING:
        from mtml_rl.agents.loading import load_agent

        return load_agent(run)
    return AdaptAgent(run) if run.config.method == "adapt" else PolicyAgent(run)


def mean_return(agent: Any, spec: TaskSpec, split: str) -> float:
    """Mean return of one deterministic episode on every task of ``split``."""
    tasks = list(build_splits(spec)[split].tasks)
    episodes = rollout_agent(agent, spec, tasks, seed=EVAL_SEED)
    return float(np.mean([e.ret for e in episodes]))
