"""``1e-3`` is a number wherever users write YAML (``--hyperparams``, ``--config`` files, grid
files, spec files): PyYAML follows YAML 1.1, where a float needs a dot, and read
``learning_rate: 1e-3`` as the text ``"1e-3"``, which SB3 then refused ("The learning rate
schedule must be a float or a callable, not 1e-3"). What the package writes reads back as it
was: a text that would now read as a number is quoted."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.cli.train_cmd import parse_pairs
from mtml_rl.errors import ConfigError
from mtml_rl.io import dump_yaml, load_yaml_text
from mtml_rl.training import TrainConfig


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 0.001), ("3E4", 30000.0), ("-2.5e+2", -250.0), ("1.0e-5", 1e-05), ("10", 10), ("0.5", 0.5)],
)
def test_exponent_floats_read_as_numbers(text: str, value: float) -> None:
    read = load_yaml_text(text)
    assert read == value and type(read) is type(value)


@pytest.mark.parametrize("text", ["1e", "e3", "1e3x", "lin_1e-3", "mtml/CartPole-v0", "2026-12-07T10:00"])
def test_other_text_is_unchanged(text: str) -> None:
    assert load_yaml_text(f"'{text}'") == text
    assert not isinstance(load_yaml_text(text), float)


def test_what_is_written_reads_back_equal() -> None:
    data = {"out": "1e3", "learning_rate": 1e-3, "steps": "10", "nan": math.inf, "name": "x"}
    assert load_yaml_text(dump_yaml(data)) == data
    assert "out: '1e3'" in dump_yaml(data)


def test_hyperparams_on_the_command_line_and_in_a_config_file(tmp_path: Path) -> None:
    assert parse_pairs(["learning_rate:3e-4", "buffer_size:1e6"]) == {
        "learning_rate": 3e-4,
        "buffer_size": 1e6,
    }
    file = tmp_path / "config.yaml"
    file.write_text("env: mtml/CartPole-v0\nhyperparams: {learning_rate: 1e-3}\n")
    assert TrainConfig.from_yaml(file).hyperparams == {"learning_rate": 0.001}


def test_a_whole_float_in_a_whole_number_field_is_that_number(tmp_path: Path) -> None:
    """``timesteps: 1e6`` (rl-baselines3-zoo writes budgets so) reads as the float 1000000.0; a
    whole-number field takes it as 1000000, and a fraction is still refused."""
    file = tmp_path / "config.yaml"
    file.write_text("env: mtml/CartPole-v0\ntimesteps: 1e6\nn_envs: 8.0\n")
    config = TrainConfig.from_yaml(file)
    assert (config.timesteps, config.n_envs) == (1_000_000, 8)
    assert type(config.timesteps) is int
    file.write_text("env: mtml/CartPole-v0\ntimesteps: 64.5\n")
    with pytest.raises(ConfigError, match=r"timesteps must be a positive integer, got 64\.5"):
        TrainConfig.from_yaml(file)
    grid = BenchmarkConfig.from_dict({"envs": ["mtml/CartPole-v0"], "timesteps": 5e4, "workers": 2.0})
    assert (grid.timesteps, grid.workers) == (50_000, 2)
