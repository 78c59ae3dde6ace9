"""A budget SB3 will not train as asked is said before the run starts: an on-policy budget of at most
half of one rollout (``--timesteps 1000`` with ``n_steps: 4096`` on 8 slots trained 32,768
steps), and an off-policy ``learning_starts`` at or above the budget (no gradient step: the
run "finished" with its random initial policy). Both were silent."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.env_util import make_vec_env

from mtml_rl.errors import MtmlWarning
from mtml_rl.training.builders import warn_if_the_budget_misfits


def _warnings(model: object, timesteps: int) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_the_budget_misfits(model, timesteps)  # type: ignore[arg-type]
    return [str(w.message) for w in caught if issubclass(w.category, MtmlWarning)]


def test_an_on_policy_budget_under_half_a_rollout_is_named_with_what_it_takes() -> None:
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=4), n_steps=64, batch_size=64, device="cpu")
    assert _warnings(model, 100) == [
        "timesteps 100 is at most half of one rollout of 256 steps (n_steps 64 x n_envs 4); SB3 trains "
        "in whole rollouts, so the run takes 256: ask for them, or lower n_steps or n_envs"
    ]
    assert _warnings(model, 129) == []  # 256 steps: less than twice the budget
    assert _warnings(model, 1000) == []  # 1024 steps


def test_an_off_policy_budget_that_never_reaches_learning_starts_is_named() -> None:
    model = SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_starts=500, buffer_size=1000, device="cpu")
    (message,) = _warnings(model, 500)
    assert message.startswith("learning_starts 500 is not below timesteps 500: ")
    assert _warnings(model, 501) == []


@pytest.mark.slow
def test_the_cli_says_it_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mtml_rl.cli.main import main

    out = str(tmp_path / "run")
    argv = ["train", "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", "100", "--n-envs", "2"]
    assert main([*argv, "--hyperparams", "n_steps:128", "--out", out, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("mtml-rl train: warning: timesteps 100 is at most half of one rollout of 256 steps")
