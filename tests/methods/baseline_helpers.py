"""Helpers of the baseline tests: tiny seeded configs.

Every run uses one torch thread, a fixed seed and a budget of a few hundred steps with
small networks, so that the folder stays fast and its results reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtml_rl.training import TrainConfig

CARTPOLE = "mtml/CartPole-v0"
PENDULUM = "mtml/Pendulum-v0"
TINY_PPO: dict[str, Any] = {"n_steps": 32, "batch_size": 64, "n_epochs": 2}
"""PPO overrides that keep a few hundred steps cheap yet still update the model."""
TINY_LSTM: dict[str, Any] = {**TINY_PPO, "policy_kwargs": {"lstm_hidden_size": 16, "net_arch": [16]}}
"""The same for RecurrentPPO, with a small LSTM."""


def tiny_config(out: Path, method: str, **fields: Any) -> TrainConfig:
    """A cheap, seeded, one-thread config of ``method`` on CartPole writing to ``out``."""
    values: dict[str, Any] = {
        "env": CARTPOLE,
        "method": method,
        "algo": "ppo",
        "timesteps": 256,
        "n_envs": 4,
        "seed": 0,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": dict(TINY_LSTM if method == "rl2" else TINY_PPO),
        "adapt_timesteps": 64,
        "adapt_iterations": 1,
        "adapt_epochs": 1,
        "finetune_timesteps": 256,
    }
    values.update(fields)
    return TrainConfig(**values)
