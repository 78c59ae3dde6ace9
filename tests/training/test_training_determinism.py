"""Same seed, one thread: two trainings give identical parameters and evaluation returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import CARTPOLE, PENDULUM, ConfigFactory, assert_same_params, params_of

from mtml_rl.training import train


@pytest.mark.parametrize(
    ("env", "algo", "method"),
    [(CARTPOLE, "ppo", "oracle"), (CARTPOLE, "a2c", "history"), (PENDULUM, "sac", "oracle")],
)
@pytest.mark.fast_subset({"algo": "ppo"})
def test_same_seed_same_parameters_and_returns(
    config: ConfigFactory, tmp_path: Path, env: str, algo: str, method: str
) -> None:
    runs = [
        train(config(env=env, algo=algo, method=method, timesteps=512, out=tmp_path / name), progress=False)
        for name in ("a", "b")
    ]
    assert_same_params(runs[0].model, runs[1].model)
    returns = [[r.ret for r in run.evaluate("test-interpolation")] for run in runs]
    assert returns[0] == returns[1]


@pytest.mark.slow
def test_periodic_evaluation_does_not_change_training(config: ConfigFactory, tmp_path: Path) -> None:
    """Evaluating and checkpointing mid-run draws no randomness from the training streams."""
    plain = train(config(timesteps=1024, out=tmp_path / "plain"), progress=False)
    busy = train(
        config(timesteps=1024, eval_freq=512, eval_tasks=2, save_freq=512, out=tmp_path / "busy"),
        progress=False,
    )
    assert_same_params(plain.model, busy.model)


def test_different_seeds_give_different_parameters(config: ConfigFactory, tmp_path: Path) -> None:
    a = train(config(timesteps=512, seed=0, out=tmp_path / "a"), progress=False)
    b = train(config(timesteps=512, seed=1, out=tmp_path / "b"), progress=False)
    pa, pb = params_of(a.model), params_of(b.model)
    assert any(not (pa[k] == pb[k]).all() for k in pa)
