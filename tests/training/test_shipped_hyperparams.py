"""What the MuJoCo families' shipped PPO settings change against rl-baselines3-zoo's: the Ant
families start from a smaller action noise and nothing else; the other families keep zoo's."""

from __future__ import annotations

from typing import Any

from mtml_rl.training.algorithms import get_algo
from mtml_rl.training.hyperparams import load_defaults, resolve_hyperparams

ZOO_MUJOCO = ("hopper_params", "walker_params", "halfcheetah_params", "halfcheetah_dir")


def _without_policy_kwargs(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "policy_kwargs"}


def test_the_ant_families_differ_from_zoos_mujoco_settings_only_in_the_initial_noise() -> None:
    zoo = load_defaults("ppo", "hopper_params")
    for family in ("ant_dir", "ant_goal"):
        entry = load_defaults("ppo", family)
        assert _without_policy_kwargs(entry) == _without_policy_kwargs(zoo), family
        assert entry["policy_kwargs"] == {**zoo["policy_kwargs"], "log_std_init": -2}, family
        resolved = resolve_hyperparams(get_algo("ppo"), family, {}, None, "default")
        assert resolved.algo_kwargs["policy_kwargs"]["log_std_init"] == -2, family


def test_the_other_mujoco_families_keep_zoos_unit_noise() -> None:
    zoo = load_defaults("ppo", "hopper_params")
    assert "log_std_init" not in zoo["policy_kwargs"]
    for family in ZOO_MUJOCO:
        assert load_defaults("ppo", family) == zoo, family


def test_rl2_starts_from_the_same_noise_on_the_ant_families() -> None:
    default = load_defaults("recurrentppo", "hopper_params")  # the generic entry
    for family in ("ant_dir", "ant_goal"):
        entry = load_defaults("recurrentppo", family)
        assert _without_policy_kwargs(entry) == _without_policy_kwargs(default), family
        assert entry["policy_kwargs"] == {**default["policy_kwargs"], "log_std_init": -2}, family
