"""``scripts/validation_scores.py``: runs and checkpoints scored on a validation draw."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_solved_budgets import load_script
from tiny_runs import tiny_checkpointed_run


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny CartPole oracle with a checkpoint at 256 steps."""
    return tiny_checkpointed_run(tmp_path_factory.mktemp("validation"), "oracle")


def test_a_run_and_its_checkpoint_get_a_row_each_per_episode_of_the_trial(
    oracle_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("validation_scores")
    script.main([oracle_run, f"{oracle_run}@step_256", "--tasks", "3", "--episodes", "2"])
    out = capsys.readouterr().out
    assert "3 validation tasks (draw seed 1000)" in out
    rows = [line for line in out.splitlines() if line.startswith(f"| {oracle_run}")]
    assert len(rows) == 2 and rows[1].startswith(f"| {oracle_run}@step_256 | oracle |")
    assert all(len(row.strip("|").split("|")) == 5 for row in rows)  # run, method, 2 episodes, all


def test_a_dr_run_deployed_as_finetune_is_fine_tuned_on_each_task_before_it_plays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tiny_checkpointed_run(tmp_path, "dr", finetune_timesteps=256)
    script = load_script("validation_scores")
    script.main([run, "--tasks", "2", "--episodes", "2", "--deploy-as", "finetune"])  # acting first raises
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {run} | finetune |")]
    assert len(rows) == 1 and len(rows[0].strip("|").split("|")) == 5  # run, method, 2 episodes, all
    with pytest.raises(SystemExit) as exit_info:
        script.main([run, "--tasks", "2", "--deploy-as", "oracle"])
    assert exit_info.value.code == 2 and "cannot be deployed as oracle" in capsys.readouterr().err


def test_a_missing_checkpoint_is_refused_with_exit_2(
    oracle_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("validation_scores")
    with pytest.raises(SystemExit) as exit_info:
        script.main([f"{oracle_run}@step_999", "--tasks", "2"])
    assert exit_info.value.code == 2
    assert "no checkpoint 'step_999'" in capsys.readouterr().err
