"""The local backend on a 2-trial grid: both trials train and evaluate, a report is written,
a rerun skips both without touching them, a packed trial unpacks to the same files, and the
cell the grid leaves out (``pearl`` on a discrete family) is named in the report and summary."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
from benchmark_helpers import CARTPOLE, WITH_FIGURES, file_state, tiny_grid
from permission_helpers import unexpected_modes
from rich.console import Console

from mtml_rl.benchmark.backends import pack_folders, unpack, written_folders
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.runner import BenchmarkResult, run_benchmark
from mtml_rl.benchmark.trials import plan_trials
from mtml_rl.cli.benchmark_cmd import summarize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> BenchmarkConfig:
    """CartPole with ``dr`` and ``pearl`` (SAC only: the grid leaves that cell out), seeds 0 and 1."""
    return tiny_grid(
        tmp_path_factory.mktemp("local") / "bench",
        evaluation=WITH_FIGURES,
        methods=["dr", "pearl"],
        method_overrides={"pearl": {"algo": "sac"}},
    )


@pytest.fixture(scope="module")
def first(grid: BenchmarkConfig) -> BenchmarkResult:
    return run_benchmark(grid, progress=False)


def test_every_trial_finishes_in_its_absolute_run_dir(grid: BenchmarkConfig, first: BenchmarkResult) -> None:
    assert first.ok
    assert sorted(first.ran) == ["CartPole-dr-s0", "CartPole-dr-s1"]
    for trial in plan_trials(grid):
        run = Path(trial.run_dir)
        assert run.is_absolute() and run.parent == grid.out_dir / "runs"
        assert json.loads((run / "run.json").read_text()) == {"status": "finished", "steps": 1024}
        assert (run / "final" / "model.zip").is_file()
        assert (Path(trial.eval_dir) / "results.json").is_file()
        assert (Path(trial.eval_dir) / "benchmark.json").is_file()


def test_the_grids_runs_evaluations_and_report_have_the_permissions_the_umask_gives(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    assert first.ok
    assert unexpected_modes(grid.out_dir) == []


def test_manifest_lists_every_trial_as_finished(grid: BenchmarkConfig, first: BenchmarkResult) -> None:
    manifest = json.loads((grid.out_dir / "trials.json").read_text())
    assert manifest["benchmark"]["envs"] == grid.envs
    assert {t["name"]: (t["status"], t["error"], t["attempts"]) for t in manifest["trials"]} == {
        "CartPole-dr-s0": ("finished", None, 1),
        "CartPole-dr-s1": ("finished", None, 1),
    }


def test_compare_report_covers_both_seeds(first: BenchmarkResult) -> None:
    assert first.comparison is not None
    (row,) = first.comparison.rows
    assert (row.method, row.split, row.runs, row.tasks) == ("dr", "test-interpolation", 2, 16)
    assert first.comparison.report.is_file()
    results = json.loads((first.comparison.report_dir / "results.json").read_text())
    assert sorted(Path(r["path"]).name for r in results["runs"]) == ["CartPole-dr-s0", "CartPole-dr-s1"]
    assert results["protocol"]["episodes"] == 2
    assert results["pictures"] and all(
        (first.comparison.report_dir / p).is_file() for p in results["pictures"]
    )


def test_rerun_skips_finished_trials_and_keeps_their_files(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    before = file_state(grid.out_dir / "runs")
    again = run_benchmark(grid, progress=False)
    assert again.ok and again.ran == [] and sorted(again.skipped) == sorted(first.ran)
    assert file_state(grid.out_dir / "runs") == before


def test_a_packed_trial_unpacks_where_the_driver_expects_it(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    trial = plan_trials(grid)[0]
    before = {k: v[0] for k, v in file_state(Path(trial.run_dir)).items()}
    archive = pack_folders(written_folders(trial))
    shutil.rmtree(trial.run_dir)
    shutil.rmtree(trial.eval_dir)
    unpack(trial, archive)
    assert {k: v[0] for k, v in file_state(Path(trial.run_dir)).items()} == before
    assert (Path(trial.eval_dir) / "results.json").is_file()


def test_unpacking_replaces_a_stale_copy_and_leaves_the_packed_one(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    """A driver whose disk the worker shares has the packed folders already (checkpoints kept,
    nothing rewritten); one that does not may hold an older evaluation, which is replaced."""
    trial = plan_trials(grid)[0]
    archive = pack_folders(written_folders(trial))
    (Path(trial.run_dir) / "checkpoints").mkdir(exist_ok=True)
    before = file_state(Path(trial.run_dir).parent.parent)
    unpack(trial, archive)
    assert file_state(Path(trial.run_dir).parent.parent) == before
    marker = Path(trial.eval_dir) / "benchmark.json"
    packed_marker = marker.read_bytes()
    marker.write_text(json.dumps({**json.loads(packed_marker), "settings": {"episodes": 99}}))
    (Path(trial.eval_dir) / "results.json").write_text("{}")
    unpack(trial, archive)
    assert marker.read_bytes() == packed_marker
    assert json.loads((Path(trial.eval_dir) / "results.json").read_text())["runs"]
    assert (Path(trial.run_dir) / "checkpoints").is_dir(), "the run, the same, is left as it was"


def test_an_unpacking_stopped_part_way_leaves_the_folder_as_it_was(
    grid: BenchmarkConfig, first: BenchmarkResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver deleted a stale copy, then unpacked the new one in place: killed in between,
    it kept half of a finished trial. Now each folder is built aside and put in place whole."""
    trial = plan_trials(grid)[0]
    archive = pack_folders(written_folders(trial))
    marker, results = Path(trial.eval_dir) / "benchmark.json", Path(trial.eval_dir) / "results.json"
    packed_marker = marker.read_bytes()
    marker.write_text(json.dumps({**json.loads(packed_marker), "settings": {"episodes": 99}}))
    results.write_text("{}")  # a stale copy, which the archive's replaces
    before = file_state(Path(trial.run_dir).parent.parent)
    extract = tarfile.TarFile.extractall

    def killed_half_way(tar: tarfile.TarFile, path: str, members: list[tarfile.TarInfo], **kw: Any) -> None:
        extract(tar, path, members=members[: len(members) // 2], **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "extractall", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        unpack(trial, archive)
    assert file_state(Path(trial.run_dir).parent.parent) == before  # no half folder, none aside
    monkeypatch.undo()
    unpack(trial, archive)
    assert marker.read_bytes() == packed_marker and json.loads(results.read_text())["runs"]
    assert [p.name for p in Path(trial.eval_dir).parent.iterdir() if p.name.startswith(".")] == []


def test_a_narrower_rerun_keeps_the_other_trials_entries(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    narrow = BenchmarkConfig.from_dict({**grid.to_dict(), "seeds": [0]})
    again = run_benchmark(narrow, progress=False)
    assert again.skipped == ["CartPole-dr-s0"] and [r.name for r in again.records] == ["CartPole-dr-s0"]
    manifest = json.loads((grid.out_dir / "trials.json").read_text())
    assert {t["name"] for t in manifest["trials"]} == {"CartPole-dr-s0", "CartPole-dr-s1"}


def test_the_report_and_the_summary_name_the_cell_left_out(
    first: BenchmarkResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert [(c.env, c.method) for c in first.unsupported] == [(CARTPOLE, "pearl")]
    assert first.comparison is not None
    report = first.comparison.report.read_text()
    assert f"- pearl on {CARTPOLE}: not run, the method does not support it (" in report
    summarize(first, Console(width=200))
    out = capsys.readouterr().out
    assert f"not run pearl on {CARTPOLE}: not run, the method does not support it" in out
    assert out.count(f"pearl on {CARTPOLE}") == 1
