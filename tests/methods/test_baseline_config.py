"""Baseline configuration: defaults, bad input and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from baseline_helpers import PENDULUM, tiny_config

from mtml_rl.cli.main import main
from mtml_rl.errors import ConfigError
from mtml_rl.methods import method_names
from mtml_rl.training import TrainConfig, train


def test_baselines_are_methods() -> None:
    assert {"rl2", "finetune"} <= set(method_names())


@pytest.mark.parametrize(("method", "trial_episodes"), [("rl2", 2), ("dr", 1), ("adapt", 1), ("finetune", 1)])
def test_default_trial_length(method: str, trial_episodes: int) -> None:
    assert TrainConfig(method=method).trial_episodes == trial_episodes
    assert TrainConfig(method=method, trial_episodes=3).trial_episodes == 3


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"finetune_timesteps": 0}, "finetune_timesteps must be a positive integer"),
        ({"trial_episodes": 0}, "trial_episodes must be a positive integer"),
    ],
)
def test_bad_fields(fields: dict[str, int], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(method="rl2", **fields)


@pytest.mark.parametrize("algo", ["a2c", "sac"])
def test_rl2_needs_ppo(tmp_path: Path, algo: str) -> None:
    with pytest.raises(ConfigError, match="pass --algo ppo"):
        train(tiny_config(tmp_path / "run", "rl2", env=PENDULUM, algo=algo), progress=False)
    assert not (tmp_path / "run").exists()


def test_cli_rl2_with_sac_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["train", "--method", "rl2", "--algo", "sac", "--env", PENDULUM, "--out", str(out), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "rl2" in err and "RecurrentPPO" in err and "--algo ppo" in err
    assert not out.exists()


def test_cli_trains_finetune_with_its_budget(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["train", "--method", "finetune", "--finetune-timesteps", "300", "--timesteps", "128"]
    argv += ["--n-envs", "4", "--eval-freq", "0", "--save-freq", "0", "--out", str(out), "--quiet"]
    argv += ["--hyperparams", "n_steps:32", "batch_size:64", "n_epochs:1"]
    assert main(argv) == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["method"] == "finetune" and config["finetune_timesteps"] == 300
    assert config["trial_episodes"] == 1
