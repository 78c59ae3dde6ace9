"""Torch's ``foreach`` optimizer updates: on for every optimizer of a built model, and
bit-identical to the one-tensor-at-a-time updates they replace."""

from __future__ import annotations

from pathlib import Path

import pytest
from stable_baselines3.common.base_class import BaseAlgorithm
from training_helpers import CARTPOLE, PENDULUM, ConfigFactory, assert_same_params

from mtml_rl.specs.spec import resolve_spec
from mtml_rl.training.builders import build_env, build_model, resolve_algo
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.monitor import silence_logger
from mtml_rl.training.optim import model_optimizers


def _model(config: TrainConfig) -> BaseAlgorithm:
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    return build_model(config, algo, hp, build_env(config, spec, hp, config.n_envs or hp.n_envs))


@pytest.mark.parametrize(
    ("env", "algo", "method", "optimizers"),
    [(CARTPOLE, "ppo", "oracle", 1), (CARTPOLE, "a2c", "history", 1), (PENDULUM, "sac", "dr", 3)],
)
@pytest.mark.fast_subset({"algo": "ppo"})  # two trainings each: the other algorithms in make test
def test_foreach_updates_are_bit_identical(
    config: ConfigFactory, tmp_path: Path, env: str, algo: str, method: str, optimizers: int
) -> None:
    made = config(env=env, algo=algo, method=method)
    fast = _model(made)  # each model is built, then trained, in turn: SB3 seeds at construction
    groups = groups_of(fast)
    assert len(list(model_optimizers(fast))) == optimizers
    assert groups and all(g["foreach"] is True for g in groups)
    silence_logger(fast)  # SB3's default logger would leave an empty folder in /tmp
    fast.learn(total_timesteps=384, progress_bar=False)
    slow = _model(made)
    for group in groups_of(slow):
        group["foreach"] = False
    silence_logger(slow)
    slow.learn(total_timesteps=384, progress_bar=False)
    assert_same_params(fast, slow)


def groups_of(model: BaseAlgorithm) -> list[dict]:
    """The parameter groups of every optimizer of ``model``."""
    return [g for o in model_optimizers(model) for g in o.param_groups]
