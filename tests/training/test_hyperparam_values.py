"""Hyperparameter values SB3 leaves unchecked (or that mtml-rl reads itself) are refused in one
message naming the key, before anything is built: ``n_envs:abc`` was a traceback, ``n_envs:2.5``
trained on 2 slots, ``normalize:maybe`` normalized, SAC trained with ``gamma:2`` and on empty
batches with ``batch_size:0``, and rl-baselines3-zoo's ``policy_kwargs:"dict(...)"`` text was a
``ValueError``."""

from __future__ import annotations

from typing import Any

import pytest

from mtml_rl.errors import ConfigError
from mtml_rl.training.algorithms import get_algo
from mtml_rl.training.hyperparams import clone_overrides, resolve_hyperparams


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_envs": "abc"}, "n_envs must be a whole number of at least 1, got 'abc'"),
        ({"n_envs": 2.5}, "n_envs must be a whole number of at least 1, got 2.5"),
        ({"n_envs": True}, "n_envs must be a whole number of at least 1, got True"),
        ({"n_timesteps": 0}, "n_timesteps must be a whole number of at least 1, got 0"),
        ({"noise_std": -0.1}, "noise_std must be a number of at least 0, got -0.1"),
        ({"noise_std": "x"}, "noise_std must be a number of at least 0, got 'x'"),
        ({"normalize": "maybe"}, "normalize must be true, false or a mapping of VecNormalize's arguments"),
        (
            {"normalize": {"norm_rewrd": False}},
            "'norm_rewrd' is not an argument of VecNormalize; did you mean",
        ),
        ({"gamma": 2}, r"gamma must be a number in \[0, 1\], got 2"),
        ({"tau": -0.5}, r"tau must be a number in \[0, 1\], got -0.5"),
        ({"batch_size": 0}, "batch_size must be a whole number of at least 1, got 0"),
        ({"buffer_size": 1.5e5 + 0.5}, "buffer_size must be a whole number of at least 1"),
        ({"policy_kwargs": "dict(net_arch=[64])"}, r"policy_kwargs must be a mapping, got 'dict\(net_arch"),
    ],
)
def test_a_value_out_of_its_range_is_one_message_naming_the_key(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_hyperparams(get_algo("sac"), "pendulum", overrides, action_dim=1)


def test_values_in_range_pass_as_given() -> None:
    hp = resolve_hyperparams(
        get_algo("sac"),
        "pendulum",
        {"n_envs": 4.0, "normalize": {"norm_reward": False}, "gamma": 1, "tau": 0.0, "batch_size": 1},
        action_dim=1,
    )
    assert (hp.n_envs, hp.normalize) == (4, {"norm_reward": False})
    assert (hp.algo_kwargs["gamma"], hp.algo_kwargs["tau"], hp.algo_kwargs["batch_size"]) == (1, 0.0, 1)
    assert resolve_hyperparams(get_algo("ppo"), "cartpole", {"normalize": None}, None).normalize is False


def test_a_fine_tuned_clone_checks_the_same_ranges() -> None:
    with pytest.raises(ConfigError, match="batch_size must be a whole number of at least 1, got 0"):
        clone_overrides(get_algo("ppo"), {"batch_size": 0})
