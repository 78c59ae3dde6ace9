"""``scripts/solved_budgets.py``: the table of train returns by budget marks a budget solved
only where every seed reaches the family's documented solved level."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from script_loading import load_script

from mtml_rl.benchmark import TrialOutcome


def test_every_family_of_the_script_has_a_solved_level() -> None:
    script = load_script("solved_budgets")
    for family in script.FAMILIES:
        assert script.solved_level(family) is not None, family


def test_a_budget_is_solved_only_when_every_seed_is() -> None:
    script = load_script("solved_budgets")
    point = script.Point
    points = [
        point("cartpole", "oracle", 0, 1000, 480.0),
        point("cartpole", "oracle", 1, 1000, 300.0),
        point("cartpole", "oracle", 0, 2000, 500.0),
        point("cartpole", "oracle", 1, 2000, 476.0),
    ]
    rows = [
        line
        for line in script.table(points).splitlines()
        if line.startswith("| 1,000") or line.startswith("| 2,000")
    ]
    assert rows == ["| 1,000 | 480.0 | 300.0 | no |", "| 2,000 | 500.0 | 476.0 | yes |"]
    assert "cartpole oracle (solved level 475.0)" in script.table(points)


def test_hyperparameter_overrides_are_a_json_object() -> None:
    script = load_script("solved_budgets")
    args = script.parse_args(
        ["--budget", "10", "--every", "10", "--hyperparams", '{"n_epochs": 5, "batch_size": 128}']
    )
    assert args.hyperparams == '{"batch_size": 128, "n_epochs": 5}'
    assert script.parse_args(["--budget", "10", "--every", "10"]).hyperparams is None
    for bad in ("{n_epochs: 5}", "[5]"):
        with pytest.raises(SystemExit) as exit_info:
            script.parse_args(["--budget", "10", "--every", "10", "--hyperparams", bad])
        assert exit_info.value.code == 2


def test_any_registered_id_or_spec_file_can_be_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--envs`` instead of the named families: its solved level is its family's, PPO is
    the default algorithm, and a family that documents no solved level gets no verdict."""
    script = load_script("solved_budgets")
    args = script.parse_args(["--envs", "mtml/WalkerParams-v0", "--budget", "10", "--every", "10"])
    assert args.envs == ["mtml/WalkerParams-v0"]
    assert script.target("mtml/WalkerParams-v0") == ("mtml/WalkerParams-v0", "ppo")
    assert script.target("pendulum") == ("mtml/Pendulum-v0", "sac")
    assert script.folder_name("mtml/WalkerParams-v0") == "mtml_WalkerParams-v0"
    assert script.solved_level("mtml/CartPole-v0") == script.solved_level("cartpole") == 475.0
    assert script.solved_level("mtml/WalkerParams-v0") == script.solved_level("walker_params") == 400.0
    text = script.table([script.Point("mtml/WalkerParams-v0", "oracle", 0, 1000, 812.5)])
    assert "mtml/WalkerParams-v0 oracle (solved level 400.0)" in text
    assert "| 1,000 | 812.5 | yes |" in text
    text = script.table([script.Point("ant_goal", "oracle", 0, 1000, -279.9, 0.203)])  # success defined
    assert "| 1,000 | -279.9 (20% success) | no |" in text
    if importlib.util.find_spec("metaworld") is not None:  # scored by success, not by return
        assert script.solved_level("mtml/ML1_reach-v3") is None
    monkeypatch.setattr(script, "solved_level", lambda family: None)  # a family of one's own without one
    text = script.table([script.Point("my_spec.yaml", "oracle", 0, 1000, 812.5)])
    assert "my_spec.yaml oracle (no documented solved level)" in text
    assert "| 1,000 | 812.5 | – |" in text
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(
            ["--envs", "mtml/CartPole-v0", "--families", "acrobot", "--budget", "1", "--every", "1"]
        )
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:  # a typo is one usage error, before any training
        script.parse_args(["--envs", "mtml/NoSuchFamily-v0", "--budget", "1", "--every", "1"])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_a_finished_run_in_the_folder_is_evaluated_again_not_retrained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script's runs are a grid's trials: run again on the same folder it reuses each
    finished run of exactly its job (the same points, no training), and a finished run of
    another config in the folder stops it with the difference named."""
    script = load_script("solved_budgets")
    job = script.Job("cartpole", "oracle", 0, budget=1024, every=512, root=str(tmp_path))
    first = script.run_job(job)
    assert [p.steps for p in first] == [512, 1024]
    assert all(p.success is None for p in first)  # CartPole defines no success
    model = tmp_path / "cartpole-oracle-s0" / "final" / "model.zip"
    written = model.stat().st_mtime_ns
    capsys.readouterr()
    assert script.run_job(job) == first
    assert "its finished run reused" in capsys.readouterr().out
    assert model.stat().st_mtime_ns == written
    other = script.Job("cartpole", "oracle", 0, 1024, 512, str(tmp_path), hyperparams='{"n_epochs": 2}')
    with pytest.raises(RuntimeError, match="config differs from this benchmark's in hyperparams") as info:
        script.run_job(other)
    assert "Traceback" not in str(info.value)  # bad input: one line, what is wrong and the fix


def test_a_crash_that_is_not_bad_input_keeps_its_traceback() -> None:
    script = load_script("solved_budgets")
    trace = "Traceback (most recent call last): ..."
    crash = TrialOutcome("run", "failed", False, "ZeroDivisionError: division by zero", trace)
    assert "Traceback" in script.failure_message("run", crash)
    refusal = TrialOutcome("run", "failed", False, "ConfigError: another config", trace, refused=True)
    assert script.failure_message("run", refusal) == "run: ConfigError: another config"
