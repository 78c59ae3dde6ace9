"""The quickstart end to end at a reduced budget: trains dr and adapt, evaluates them and the
oracle (``adapt``'s phase 1) on three splits, prints the table and writes the report with its
pictures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mtml_rl.benchmark.quickstart import (
    DEFAULT_TIMESTEPS,
    PROFILES,
    TIMESTEPS_VARIABLE,
    quickstart_config,
    resolve_timesteps,
)
from mtml_rl.cli.main import main
from mtml_rl.errors import ConfigError
from mtml_rl.training.hyperparams import load_defaults

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_budget_comes_from_the_flag_then_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMESTEPS_VARIABLE, raising=False)
    assert resolve_timesteps(None) == DEFAULT_TIMESTEPS
    monkeypatch.setenv(TIMESTEPS_VARIABLE, "3000")
    assert resolve_timesteps(None) == 3000
    assert resolve_timesteps(500) == 500
    monkeypatch.setenv(TIMESTEPS_VARIABLE, "lots")
    with pytest.raises(ConfigError, match=TIMESTEPS_VARIABLE):
        resolve_timesteps(None)


def test_default_grid_is_the_measured_one(tmp_path: Path) -> None:
    config = quickstart_config(DEFAULT_TIMESTEPS, tmp_path)
    assert (config.envs, config.methods, config.seeds) == (
        ["mtml/CartPole-v0"],
        ["dr", "oracle", "adapt"],
        [0, 1],
    )
    assert config.timesteps == 60_000
    assert config.method_overrides["adapt"]["adapt_timesteps"] == 20_000
    assert config.method_overrides["adapt"]["adapt_epochs"] == 4, "as good as 32, cheaper"
    assert config.evaluation.splits == ["train", "test-interpolation", "test-extrapolation"]
    assert config.train["hyperparams"] == PROFILES["fast"]


def test_the_command_line_defaults_to_the_fast_profile_and_keeps_the_default_one() -> None:
    from mtml_rl.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["quickstart"]).profile == "fast"
    assert parser.parse_args(["quickstart", "--profile", "default"]).profile == "default"


@pytest.mark.slow
def test_quickstart_end_to_end_at_a_reduced_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TIMESTEPS_VARIABLE, "1500")
    out = tmp_path / "quick"
    assert main(["quickstart", "--out", str(out), "--seeds", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    for method in ("dr", "oracle", "adapt"):
        assert re.search(rf"│ {method} +│ .*\[.*\].*│", printed), printed
    assert f"report with pictures: {out.resolve() / 'report' / 'report.md'}" in printed
    assert re.search(r"interpolation: adapt -?[0-9.]+ vs dr -?[0-9.]+ mean return", printed), printed
    for method in ("dr", "adapt"):
        config = yaml.safe_load((out / "runs" / f"CartPole-{method}-s0" / "config.yaml").read_text())
        assert config["timesteps"] == 1500
    assert not (out / "runs" / "CartPole-oracle-s0").exists(), "the oracle is adapt's phase 1"
    oracle = json.loads((out / "eval" / "CartPole-oracle-s0" / "results.json").read_text())
    assert [(r["method"], r["trained_as"]) for r in oracle["runs"]] == [("oracle", "adapt")]
    report = (out / "report" / "report.md").read_text()
    for split in ("train", "interpolation", "extrapolation"):
        assert split in report
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert pictures
    for name in pictures:
        assert (out / "report" / name).read_bytes().startswith(PNG_MAGIC)


def test_fast_profile_pins_the_fast_cartpole_settings(tmp_path: Path) -> None:
    fast = quickstart_config(DEFAULT_TIMESTEPS, tmp_path, profile="fast").train["hyperparams"]
    default = quickstart_config(DEFAULT_TIMESTEPS, tmp_path, profile="default").train["hyperparams"]
    shipped = load_defaults("ppo", "cartpole", "fast")
    assert {k: fast[k] for k in ("n_envs", "n_steps", "batch_size", "n_epochs")} == {
        k: shipped[k] for k in ("n_envs", "n_steps", "batch_size", "n_epochs")
    }
    assert fast["n_envs"] * fast["n_steps"] > default["n_envs"] * default["n_steps"]
    with pytest.raises(ConfigError, match="unknown quickstart profile 'quick'"):
        quickstart_config(DEFAULT_TIMESTEPS, tmp_path, profile="quick")
