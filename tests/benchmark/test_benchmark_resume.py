"""A failed or killed trial is reported with its error and retried by the next run, which
completes only the missing trial and loses (or touches) nothing that had finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmark_helpers import (
    BAD_HYPERPARAMETER,
    FAILING_SEED,
    TINY_EVALUATION,
    TINY_TRAIN,
    file_state,
    killing_trial,
    raising_trial,
    tiny_grid,
    trials_in_this_process,
)
from rich.console import Console

from mtml_rl.benchmark import runner
from mtml_rl.benchmark.runner import run_benchmark
from mtml_rl.cli.benchmark_cmd import summarize
from mtml_rl.errors import ConfigError
from mtml_rl.faults import FAULT_ENV
from mtml_rl.training import hyperparams, resume
from mtml_rl.training.rundir import LEGACY_SCHEDULE_RECORD

pytestmark = pytest.mark.slow


def manifest(out: Path) -> dict[str, dict[str, object]]:
    return {t["name"]: t for t in json.loads((out / "trials.json").read_text())["trials"]}


def test_rerun_completes_only_the_failed_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trials_in_this_process(monkeypatch)  # what the runs leave, not their processes, is checked
    grid = tiny_grid(tmp_path / "bench", workers=1)
    first = run_benchmark(grid, progress=False, trial_fn=raising_trial)
    assert first.ran == ["CartPole-dr-s0"] and first.failed == ["CartPole-dr-s1"]
    entry = manifest(grid.out_dir)["CartPole-dr-s1"]
    assert entry["status"] == "failed"
    assert f"ConfigError: unknown hyperparameter '{BAD_HYPERPARAMETER}'" in str(entry["error"])
    assert "Traceback" in str(entry["traceback"])
    assert first.comparison is not None and first.comparison.rows[0].runs == 1
    incomplete = "incomplete grid: 1 of 2 trials did not finish (CartPole-dr-s1)"
    assert any(note.startswith(incomplete) for note in first.comparison.notes)
    assert incomplete in (first.comparison.report_dir / "report.md").read_text()
    finished = file_state(grid.out_dir / "runs" / "CartPole-dr-s0")
    evaluated = file_state(grid.out_dir / "eval" / "CartPole-dr-s0")

    second = run_benchmark(grid, progress=False)
    assert second.ok
    assert second.ran == ["CartPole-dr-s1"] and second.skipped == ["CartPole-dr-s0"]
    assert file_state(grid.out_dir / "runs" / "CartPole-dr-s0") == finished
    assert file_state(grid.out_dir / "eval" / "CartPole-dr-s0") == evaluated
    retried = grid.out_dir / "runs" / "CartPole-dr-s1"
    assert json.loads((retried / "run.json").read_text())["status"] == "finished"
    assert not (retried / "partial.txt").exists()  # the crashed attempt's leftovers are replaced
    entries = manifest(grid.out_dir)
    assert {n: (e["status"], e["error"]) for n, e in entries.items()} == {
        "CartPole-dr-s0": ("finished", None),
        "CartPole-dr-s1": ("finished", None),
    }
    assert entries["CartPole-dr-s1"]["attempts"] == 2 and entries["CartPole-dr-s0"]["attempts"] == 1
    assert second.comparison is not None and second.comparison.rows[0].runs == 2
    assert "incomplete grid" not in (second.comparison.report_dir / "report.md").read_text()


def test_a_rerun_in_which_no_trial_finishes_leaves_no_report_of_the_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The earlier report's tables are of runs this rerun replaced: it must not stay to read as
    the grid's."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[FAILING_SEED], workers=1)
    assert run_benchmark(grid, progress=False).comparison is not None
    assert (grid.out_dir / "report" / "report.md").is_file()
    rerun = run_benchmark(grid, progress=False, force=True, trial_fn=raising_trial)
    assert rerun.failed == [f"CartPole-dr-s{FAILING_SEED}"] and rerun.comparison is None
    assert not (grid.out_dir / "report").exists()
    assert [p.name for p in grid.out_dir.iterdir() if p.name.startswith(".report")] in ([], [".report.lock"])


def test_a_rerun_that_replaces_evaluations_without_evaluating_leaves_no_report_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A grid rerun with evaluation off after its budget changed (``--retrain-changed``)
    retrained the run and removed its evaluation, but kept the report that named the run at
    its old budget; a rerun that changes nothing keeps the report."""
    trials_in_this_process(monkeypatch)
    out = tmp_path / "bench"
    assert run_benchmark(tiny_grid(out, seeds=[0]), progress=False).comparison is not None
    report = file_state(out / "report")
    kept = run_benchmark(tiny_grid(out, seeds=[0], evaluation={"enabled": False}), progress=False)
    assert kept.ran == [] and kept.stale_report is None and file_state(out / "report") == report
    changed = tiny_grid(out, seeds=[0], timesteps=1500, evaluation={"enabled": False})
    rerun = run_benchmark(changed, progress=False, retrain_changed=True)
    assert rerun.ran == ["CartPole-dr-s0"] and rerun.stale_report == out / "report"
    assert not (out / "report").exists() and not (out / "eval" / "CartPole-dr-s0").exists()
    summarize(rerun, Console(width=200))
    assert f"removed the earlier report {out / 'report'}: it described runs or evaluations" in (
        capsys.readouterr().out
    )


def test_an_interrupted_rerun_that_evaluates_again_leaves_no_report_of_the_old_evaluations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after its first re-evaluation, a rerun with other evaluation settings left the
    report of the old ones, beside an evaluation it had already replaced."""
    trials_in_this_process(monkeypatch)
    out = tmp_path / "bench"
    assert run_benchmark(tiny_grid(out, seeds=[0]), progress=False).comparison is not None

    def stopped(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_dispatch", stopped)
    other = tiny_grid(out, seeds=[0], evaluation={**TINY_EVALUATION, "figures": False, "seed": 7})
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(other, progress=False)
    assert not (out / "report").exists()


def test_the_report_of_a_narrower_rerun_names_the_finished_trials_it_leaves_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--seeds 0`` (or ``--envs``, ``--methods``) over a grid folder whose other trials had
    finished replaced the grid's report with one of its own trials, with nothing said."""
    trials_in_this_process(monkeypatch)
    out = tmp_path / "bench"
    assert run_benchmark(tiny_grid(out), progress=False).ok
    narrower = run_benchmark(tiny_grid(out, seeds=[0]), progress=False)
    assert narrower.comparison is not None and narrower.comparison.rows[0].runs == 1
    left_out = f"CartPole-dr-s{FAILING_SEED}"
    note = f"narrower run: the folder holds 1 finished trial(s) this run's grid leaves out ({left_out})"
    assert any(n.startswith(note) for n in narrower.comparison.notes)
    assert note in (out / "report" / "report.md").read_text()
    whole = run_benchmark(tiny_grid(out), progress=False)
    assert whole.comparison is not None and whole.comparison.rows[0].runs == 2
    assert "narrower run" not in (out / "report" / "report.md").read_text()


def test_a_killed_worker_fails_only_its_trial(tmp_path: Path) -> None:
    """The pool its death broke is replaced for the trials not started yet."""
    grid = tiny_grid(tmp_path / "bench", seeds=[0, 1, 2], workers=1, evaluation={"enabled": False})
    result = run_benchmark(grid, progress=False, trial_fn=killing_trial)
    assert result.ran == ["CartPole-dr-s0", "CartPole-dr-s2"] and result.failed == ["CartPole-dr-s1"]
    entry = manifest(grid.out_dir)["CartPole-dr-s1"]
    assert entry["status"] == "failed" and str(entry["error"]).startswith("WorkerDied:")
    assert (
        json.loads((grid.out_dir / "runs" / "CartPole-dr-s0" / "run.json").read_text())["status"]
        == "finished"
    )


def test_ctrl_c_marks_scheduled_trials_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_dispatch", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(tiny_grid(tmp_path / "bench"), progress=False)
    records = manifest(tmp_path / "bench")
    assert {r["status"] for r in records.values()} == {"interrupted"}
    assert {r["attempts"] for r in records.values()} == {1}


def test_an_interrupted_trial_goes_on_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial whose worker was killed mid-run (here while writing its final model) resumes
    from its last checkpoint on the next run, instead of training from the start."""
    train = {**TINY_TRAIN, "save_freq": 512}
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, train=train, evaluation={"enabled": False})
    monkeypatch.setenv(FAULT_ENV, "final")  # the spawned worker inherits it
    first = run_benchmark(grid, progress=False)
    assert first.failed == ["CartPole-dr-s0"]
    run_dir = grid.out_dir / "runs" / "CartPole-dr-s0"
    checkpoints = file_state(run_dir / "checkpoints")
    assert checkpoints and not (run_dir / "final").exists()

    monkeypatch.delenv(FAULT_ENV)
    trials_in_this_process(monkeypatch)
    second = run_benchmark(grid, progress=False)
    assert second.ran == ["CartPole-dr-s0"] and not second.failed
    assert file_state(run_dir / "checkpoints").items() >= checkpoints.items()  # kept, not retrained
    assert len((run_dir / "command.txt").read_text().splitlines()) == 2  # the resume's line added
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def _gae_lambda_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change CartPole's shipped PPO ``gae_lambda`` (the grids' tiny trials do not override it)."""
    shipped = hyperparams._table

    def changed(name: str) -> dict[str, Any]:
        table = shipped(name)
        return {**table, "cartpole": {**table["cartpole"], "gae_lambda": 0.9}} if name == "ppo" else table

    monkeypatch.setattr(hyperparams, "_table", changed)


def test_an_interrupted_trial_whose_shipped_defaults_changed_trains_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming would go on with the checkpoint's old hyperparameters under the new ones' name."""
    train = {**TINY_TRAIN, "save_freq": 512}
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, train=train, evaluation={"enabled": False})
    monkeypatch.setenv(FAULT_ENV, "final")
    assert run_benchmark(grid, progress=False).failed == ["CartPole-dr-s0"]
    run_dir = grid.out_dir / "runs" / "CartPole-dr-s0"
    assert (run_dir / "checkpoints").is_dir() and not (run_dir / "final").exists()

    monkeypatch.delenv(FAULT_ENV)
    trials_in_this_process(monkeypatch)
    _gae_lambda_changed(monkeypatch)
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    assert len((run_dir / "command.txt").read_text().splitlines()) == 1  # trained anew, not resumed
    assert yaml.safe_load((run_dir / "hyperparams.yaml").read_text())["gae_lambda"] == 0.9


def test_a_finished_run_whose_shipped_defaults_changed_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid names its overrides, not the defaults under them: after a shipped default
    changes, rerunning the same grid must not pass the old runs off as the new settings."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, evaluation={"enabled": False})
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    run = grid.out_dir / "runs" / "CartPole-dr-s0"
    before = file_state(run)
    assert run_benchmark(grid, progress=False).skipped == ["CartPole-dr-s0"]  # nothing changed

    _gae_lambda_changed(monkeypatch)
    with pytest.raises(ConfigError, match=r"other hyperparameters .*\(gae_lambda; the shipped defaults"):
        run_benchmark(grid, progress=False)
    assert file_state(run) == before
    result = run_benchmark(grid, progress=False, force=True)
    assert result.ran == ["CartPole-dr-s0"]
    assert yaml.safe_load((run / "hyperparams.yaml").read_text())["gae_lambda"] == 0.9


def test_a_changed_schedule_is_a_changed_default_and_a_legacy_record_of_one_still_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hyperparams.yaml`` recorded every ``lin_<x>`` schedule as the same function name, so a
    shipped schedule that changed (CartPole's ``clip_range: lin_0.2``) passed for the old one;
    it records ``lin_0.2`` now. A run recorded the old way is still its trial."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, evaluation={"enabled": False})
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    run = grid.out_dir / "runs" / "CartPole-dr-s0"
    record = yaml.safe_load((run / "hyperparams.yaml").read_text())
    assert record["clip_range"] == "lin_0.2"

    shipped = hyperparams._table

    def changed(name: str) -> dict[str, Any]:
        table = shipped(name)
        return (
            {**table, "cartpole": {**table["cartpole"], "clip_range": "lin_0.1"}} if name == "ppo" else table
        )

    monkeypatch.setattr(hyperparams, "_table", changed)
    with pytest.raises(ConfigError, match=r"other hyperparameters .*\(clip_range; the shipped defaults"):
        run_benchmark(grid, progress=False)
    monkeypatch.setattr(hyperparams, "_table", shipped)

    legacy = {**record, "clip_range": LEGACY_SCHEDULE_RECORD}
    (run / "hyperparams.yaml").write_text(yaml.safe_dump(legacy, sort_keys=False))
    before = file_state(run)
    assert run_benchmark(grid, progress=False).skipped == ["CartPole-dr-s0"]
    assert file_state(run) == before


def test_a_run_extended_by_resume_is_the_trial_of_its_new_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mtml-rl train --resume RUN --timesteps N`` on a grid's run, then the grid at ``N``: the
    run is taken as finished, nothing retrained or rewritten; also when its
    ``hyperparams.yaml`` still names the old budget (a run extended before resume kept it
    in step with ``config.yaml``)."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, evaluation={"enabled": False})
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    run = grid.out_dir / "runs" / "CartPole-dr-s0"
    assert resume(run, timesteps=2000, progress=False).model.num_timesteps >= 2000
    assert yaml.safe_load((run / "hyperparams.yaml").read_text())["n_timesteps"] == 2000

    longer = tiny_grid(
        tmp_path / "bench", seeds=[0], workers=1, timesteps=2000, evaluation={"enabled": False}
    )
    before = file_state(run)
    assert run_benchmark(longer, progress=False).skipped == ["CartPole-dr-s0"]
    assert file_state(run) == before

    stale = {**yaml.safe_load((run / "hyperparams.yaml").read_text()), "n_timesteps": 1000}
    (run / "hyperparams.yaml").write_text(yaml.safe_dump(stale, sort_keys=False))
    before = file_state(run)
    assert run_benchmark(longer, progress=False).skipped == ["CartPole-dr-s0"]
    assert file_state(run) == before
    with pytest.raises(ConfigError, match=r"config differs from this benchmark's in timesteps"):
        run_benchmark(grid, progress=False)  # the old budget: the run is no longer its trial


def test_an_interrupted_extension_goes_on_instead_of_training_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resume to more steps killed before its final model, recorded as an extension begun
    before ``hyperparams.yaml`` followed the budget: the grid at the new budget goes on from
    the run's newest checkpoint instead of taking the record's old budget for changed
    defaults and training the run again from the start."""
    train = {**TINY_TRAIN, "save_freq": 512}
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, train=train, evaluation={"enabled": False})
    trials_in_this_process(monkeypatch)
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    run = grid.out_dir / "runs" / "CartPole-dr-s0"
    argv = ["train", "--resume", str(run), "--timesteps", "2000", "--quiet"]
    killed = subprocess.run(
        [sys.executable, "-m", "mtml_rl.cli.main", *argv],
        env={**os.environ, FAULT_ENV: "final"},
        capture_output=True,
        check=False,
    )
    assert killed.returncode != 0 and json.loads((run / "run.json").read_text())["status"] != "finished"
    stale = {**yaml.safe_load((run / "hyperparams.yaml").read_text()), "n_timesteps": 1000}
    (run / "hyperparams.yaml").write_text(yaml.safe_dump(stale, sort_keys=False))
    checkpoints = file_state(run / "checkpoints")

    longer = tiny_grid(
        tmp_path / "bench", seeds=[0], workers=1, timesteps=2000, train=train, evaluation={"enabled": False}
    )
    assert run_benchmark(longer, progress=False).ran == ["CartPole-dr-s0"]
    assert len((run / "command.txt").read_text().splitlines()) == 3  # trained, resumed, resumed again
    assert file_state(run / "checkpoints").items() >= checkpoints.items()  # kept, not retrained
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


def test_a_grid_folder_moved_elsewhere_goes_on_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid folder renamed (or copied to another disk or machine) is the same grid: its
    finished trials are skipped, nothing retrained, evaluated again or rewritten, though each
    run's ``config.yaml`` and each evaluation's ``benchmark.json`` record the folder it was
    made in."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1)
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    (tmp_path / "bench").rename(tmp_path / "moved")
    moved = tiny_grid(tmp_path / "moved", seeds=[0], workers=1)
    before = {part: file_state(moved.out_dir / part) for part in ("runs", "eval")}
    result = run_benchmark(moved, progress=False)
    assert result.skipped == ["CartPole-dr-s0"] and result.ran == []
    assert {part: file_state(moved.out_dir / part) for part in ("runs", "eval")} == before
    assert result.comparison is not None and result.comparison.rows[0].runs == 1


def test_a_change_of_a_setting_only_other_methods_read_keeps_a_finished_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid's ``train: adapt_timesteps`` reaches every trial's config. Changed, it is a change
    of ``adapt``'s trial only: the ``dr`` trial is skipped, its run and evaluation untouched
    (it was refused with the whole grid, to be retrained with ``--force``), and ``adapt``'s
    refusal names ``--retrain-changed``, which retrains that trial alone."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", methods=["dr", "adapt"], seeds=[0], workers=1)
    assert sorted(run_benchmark(grid, progress=False).ran) == ["CartPole-adapt-s0", "CartPole-dr-s0"]
    kept = {part: file_state(grid.out_dir / part / "CartPole-dr-s0") for part in ("runs", "eval")}

    longer = {**TINY_TRAIN, "adapt_timesteps": 512}
    changed = tiny_grid(tmp_path / "bench", methods=["dr", "adapt"], seeds=[0], workers=1, train=longer)
    with pytest.raises(
        ConfigError, match=r"CartPole-adapt-s0 holds a finished run whose config differs"
    ) as err:
        run_benchmark(changed, progress=False)
    assert str(err.value).endswith(
        "in adapt_timesteps; use another --out, or pass --retrain-changed to train again each trial whose "
        "run differs (the others are kept)"
    )
    result = run_benchmark(changed, retrain_changed=True, progress=False)
    assert result.ok and result.ran == ["CartPole-adapt-s0"] and result.skipped == ["CartPole-dr-s0"]
    assert {part: file_state(grid.out_dir / part / "CartPole-dr-s0") for part in ("runs", "eval")} == kept
    run = grid.out_dir / "runs" / "CartPole-adapt-s0"
    assert yaml.safe_load((run / "config.yaml").read_text())["adapt_timesteps"] == 512
    assert sorted(run_benchmark(changed, progress=False).skipped) == ["CartPole-adapt-s0", "CartPole-dr-s0"]


def test_retrain_changed_retrains_a_run_whose_shipped_defaults_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other ways a finished run stops being its trial's (here the shipped defaults under
    the grid's overrides) are retrained too with ``retrain_changed``."""
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1, evaluation={"enabled": False})
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    run = grid.out_dir / "runs" / "CartPole-dr-s0"
    recorded = yaml.safe_load((run / "hyperparams.yaml").read_text())
    (run / "hyperparams.yaml").write_text(yaml.safe_dump({**recorded, "gamma": 0.5}, sort_keys=False))
    with pytest.raises(ConfigError, match=r"trained with other hyperparameters .* pass --retrain-changed"):
        run_benchmark(grid, progress=False)
    assert run_benchmark(grid, retrain_changed=True, progress=False).ran == ["CartPole-dr-s0"]
    assert yaml.safe_load((run / "hyperparams.yaml").read_text())["gamma"] == recorded["gamma"]
