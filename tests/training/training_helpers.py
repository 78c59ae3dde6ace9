"""Helpers of the training tests: small configs, parameter and file comparisons.

Every run here uses one torch thread, a fixed seed and a budget of a few hundred to a few
thousand steps, so that the folder stays fast and its results reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm

from mtml_rl.training import TrainConfig

CARTPOLE = "mtml/CartPole-v0"
PENDULUM = "mtml/Pendulum-v0"

SMALL_HYPERPARAMS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 64, "batch_size": 128, "n_epochs": 2},
    "a2c": {"n_steps": 8},
    "sac": {"learning_starts": 64, "batch_size": 64, "policy_kwargs": {"net_arch": [32, 32]}},
    "td3": {"learning_starts": 64, "batch_size": 64, "policy_kwargs": {"net_arch": [32, 32]}},
}
"""Overrides that keep a few hundred steps of each algorithm cheap yet still update the model."""

ConfigFactory = Callable[..., TrainConfig]
"""The ``config`` fixture: ``config(**fields)`` is a small config in the test's tmp folder."""


def small_config(out: Path, **fields: Any) -> TrainConfig:
    """A cheap, seeded, one-thread :class:`TrainConfig` writing to ``out``, with no periodic
    evaluation or checkpoint unless ``fields`` say otherwise."""
    algo = fields.get("algo", "ppo")
    values: dict[str, Any] = {
        "env": CARTPOLE,
        "method": "oracle",
        "algo": algo,
        "timesteps": 1024,
        "n_envs": 8,
        "seed": 0,
        "eval_freq": 0,
        "eval_tasks": 2,
        "save_freq": 0,
        "adapt_timesteps": 256,
        "adapt_iterations": 2,
        "adapt_epochs": 1,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": dict(SMALL_HYPERPARAMS.get(algo, {})),
    }
    values.update(fields)
    return TrainConfig(**values)


def params_of(model: BaseAlgorithm) -> dict[str, th.Tensor]:
    """A detached copy of every policy tensor."""
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def assert_same_params(a: BaseAlgorithm, b: BaseAlgorithm) -> None:
    """Both policies hold bit-identical tensors under the same names."""
    pa, pb = params_of(a), params_of(b)
    assert pa.keys() == pb.keys()
    different = [k for k in pa if not th.equal(pa[k], pb[k])]
    assert not different, f"parameters differ: {different}"


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (hidden ones included), by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
