"""Hyperparameter profiles: ``fast`` lays its entry over a family's defaults, key by key."""

from __future__ import annotations

import copy

import pytest

from mtml_rl.errors import ConfigError
from mtml_rl.training import TrainConfig
from mtml_rl.training.algorithms import get_algo
from mtml_rl.training.hyperparams import load_defaults, resolve_hyperparams


def test_fast_profile_overlays_the_family_defaults() -> None:
    default, fast = load_defaults("ppo", "cartpole"), load_defaults("ppo", "cartpole", "fast")
    assert fast["n_envs"] * fast["n_steps"] > default["n_envs"] * default["n_steps"]
    assert fast["batch_size"] > default["batch_size"]
    changed = {k for k in default if fast[k] != default[k]}
    assert changed and changed <= {"n_envs", "n_steps", "batch_size", "n_epochs"}
    assert fast["learning_rate"] == default["learning_rate"]


def test_a_family_without_fast_settings_keeps_its_defaults() -> None:
    assert load_defaults("ppo", "pendulum", "fast") == load_defaults("ppo", "pendulum")
    assert load_defaults("sac", "pendulum", "fast") == load_defaults("sac", "pendulum")


def test_overrides_win_over_the_profile() -> None:
    hp = resolve_hyperparams(get_algo("ppo"), "cartpole", {"n_envs": 4, "n_epochs": 3}, None, "fast")
    assert hp.n_envs == 4
    assert hp.algo_kwargs["n_epochs"] == 3
    assert hp.algo_kwargs["batch_size"] == load_defaults("ppo", "cartpole", "fast")["batch_size"]


def test_unknown_profile_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown hyperparameter profile 'fats'.*did you mean 'fast'"):
        TrainConfig(profile="fats")
    with pytest.raises(ConfigError, match="choose one of default, fast"):
        load_defaults("ppo", "cartpole", "turbo")


@pytest.mark.parametrize("profile", ["default", "fast"])
def test_a_caller_changing_its_defaults_leaves_the_next_callers_alone(profile: str) -> None:
    """The shipped tables are parsed once per process; each caller gets its own copy, nested
    values (``policy_kwargs``) included."""
    first = load_defaults("ppo", "hopper_params", profile)
    expected = copy.deepcopy(first)
    first["policy_kwargs"]["net_arch"] = "changed"
    first["n_envs"] = -1
    assert load_defaults("ppo", "hopper_params", profile) == expected
