"""Tiny seeded runs with checkpoints (CartPole unless asked), for the tests of the scoring scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtml_rl.training import TrainConfig, train

CARTPOLE = "mtml/CartPole-v0"


def tiny_checkpointed_run(out: Path, method: str, env: str = CARTPOLE, **fields: Any) -> str:
    """``method`` trained 512 steps on ``env`` (4 slots, seed 0), checkpoints every 256 steps;
    ``adapt`` with a 64-step, one-epoch phase 2; ``fields`` set other config fields. Returns
    the run folder."""
    config = TrainConfig(
        env=env,
        method=method,
        algo="ppo",
        timesteps=512,
        n_envs=4,
        seed=0,
        eval_freq=0,
        save_freq=256,
        num_threads=1,
        out=str(out / method),
        hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
        adapt_timesteps=64,
        adapt_iterations=1,
        adapt_epochs=1,
        **fields,
    )
    return str(train(config, progress=False).path)
