"""Bad input: one clear message, exit code 2, and no output left behind."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mtml_rl.cli.main import main
from mtml_rl.errors import CheckpointError
from mtml_rl.evaluation.results import validate


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], out: Path, expected: str) -> str:
    code = main([*argv, "--out", str(out), "--quiet", "--episodes", "2", "--bootstrap-reps", "10"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith(f"mtml-rl {argv[0]}: error: ")
    assert expected in err, err
    assert not out.exists(), "partial output left behind"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")], "temporary files left"
    return err


@pytest.fixture
def copied(runs: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the tiny ``dr`` run that a test may damage."""
    target = tmp_path / "copy"
    shutil.copytree(runs["dr"], target)
    return target


def test_a_missing_run_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _fails(capsys, ["evaluate", str(tmp_path / "nowhere")], tmp_path / "out", "does not exist")


def test_a_folder_that_is_not_a_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _fails(capsys, ["evaluate", str(tmp_path / "empty")], tmp_path / "out", "not a run directory")


@pytest.mark.slow
def test_a_corrupt_model(capsys: pytest.CaptureFixture[str], copied: Path, tmp_path: Path) -> None:
    (copied / "final" / "model.zip").write_bytes(b"not a zip")
    _fails(capsys, ["evaluate", str(copied)], tmp_path / "out", "model.zip has 9 bytes")


@pytest.mark.slow
def test_a_corrupt_config(capsys: pytest.CaptureFixture[str], copied: Path, tmp_path: Path) -> None:
    (copied / "config.yaml").write_text("method: [unclosed\n")
    _fails(capsys, ["evaluate", str(copied)], tmp_path / "out", "config.yaml")


@pytest.mark.slow
def test_an_unknown_split(capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path) -> None:
    err = _fails(
        capsys, ["evaluate", str(runs["dr"]), "--split", "test-interpolaton"], tmp_path / "out", "split"
    )
    assert "did you mean 'test-interpolation'" in err


@pytest.mark.slow
def test_a_grid_parameter_that_does_not_vary(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    argv = ["evaluate", str(runs["dr"]), "--grid", "length", "gravity"]
    err = _fails(capsys, argv, tmp_path / "out", "'gravity' does not vary")
    assert "length" in err or "actuator_gain" in err


@pytest.mark.slow
def test_a_spec_hash_mismatch(capsys: pytest.CaptureFixture[str], copied: Path, tmp_path: Path) -> None:
    splits = json.loads((copied / "splits.json").read_text())
    splits["spec_hash"] = "0123456789abcdef"
    (copied / "splits.json").write_text(json.dumps(splits))
    _fails(capsys, ["evaluate", str(copied)], tmp_path / "out", "changed since this run was trained")


@pytest.mark.slow
def test_a_split_hash_mismatch(capsys: pytest.CaptureFixture[str], copied: Path, tmp_path: Path) -> None:
    splits = json.loads((copied / "splits.json").read_text())
    splits["hashes"]["test-interpolation"] = "0123456789abcdef"
    (copied / "splits.json").write_text(json.dumps(splits))
    _fails(capsys, ["evaluate", str(copied)], tmp_path / "out", "split 'test-interpolation'")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("[]", "is corrupt (not a record of the spec's and the splits' hashes)"),
        (
            '{"spec_hash": "a", "hashes": [1]}',
            "is corrupt (not a record of the spec's and the splits' hashes)",
        ),
        ("[" * 100_000, "is missing or corrupt (maximum recursion depth exceeded"),
    ],
)
def test_a_splits_record_of_another_shape(
    content: str, said: str, capsys: pytest.CaptureFixture[str], copied: Path, tmp_path: Path
) -> None:
    """Valid JSON of another shape (``[]``) was a ``TypeError`` traceback in evaluation and resume."""
    (copied / "splits.json").write_text(content)
    _fails(capsys, ["evaluate", str(copied)], tmp_path / "out", f"splits.json {said}")
    assert main(["train", "--resume", str(copied), "--timesteps", "4096", "--quiet"]) == 2
    assert f"splits.json {said}" in capsys.readouterr().err


@pytest.mark.slow
def test_episodes_not_a_multiple_of_the_trial(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    code = main(
        ["evaluate", str(runs["dr"]), "--trial", "2", "--episodes", "3", "--out", str(tmp_path / "o")]
    )
    assert code == 2 and "not a multiple of the trial length 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_an_occupied_output_folder_is_refused(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "occupied"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["evaluate", str(runs["dr"]), "--out", str(out), "--quiet"])
    assert code == 2 and "holds no evaluation" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_compare_refuses_what_is_neither_a_run_nor_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    _fails(capsys, ["compare", str(tmp_path / "junk")], tmp_path / "out", "neither a run directory")
    (tmp_path / "bad.json").write_text(json.dumps({"schema_version": "1.0"}))
    _fails(capsys, ["compare", str(tmp_path / "bad.json")], tmp_path / "out", "invalid results")


@pytest.mark.slow
def test_a_deployment_the_run_cannot_take(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    dr = str(runs["dr"])
    _fails(capsys, ["evaluate", dr, "--deploy-as", "oracle"], tmp_path / "a", "cannot be deployed as oracle")
    _fails(
        capsys,
        ["evaluate", dr, "--deploy-as", "finetune", "--deployment", "seed=3"],
        tmp_path / "b",
        "seed act(s) in training, not in deploying finetune",
    )
    _fails(capsys, ["evaluate", dr, "--deployment", "finetune_timesteps"], tmp_path / "c", "FIELD=VALUE")
    _fails(  # finetune's field given to the run as trained: dr does not read it (it was "acts in training")
        capsys,
        ["evaluate", dr, "--deployment", "finetune_timesteps=10"],
        tmp_path / "d",
        "dr does not read finetune_timesteps (read by finetune); deploy the run as a method that reads it",
    )


def test_compare_does_not_write_over_an_evaluation_it_compares(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    evaluation = tmp_path / "evaluation"
    small = ["--episodes", "2", "--bootstrap-reps", "10", "--split", "test-interpolation", "--no-figures"]
    assert main(["evaluate", str(runs["dr"]), "--out", str(evaluation), "--quiet", *small]) == 0
    before = {p.name: p.read_bytes() for p in evaluation.iterdir()}
    for given in (evaluation, evaluation / "results.json"):
        code = main(["compare", str(given), "--out", str(evaluation), "--quiet"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.count("\n") == 0, err
        assert "is an input of the comparison; write the comparison to another folder" in err
        assert {p.name: p.read_bytes() for p in evaluation.iterdir()} == before


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (
            "9.0",
            "it was written by a newer mtml-rl: upgrade to read it, or re-evaluate the runs with this one",
        ),
        ("0.3", "(reads 1.x); re-evaluate the runs"),
    ],
)
def test_results_of_another_schema_say_whether_to_upgrade(version: str, says: str) -> None:
    with pytest.raises(CheckpointError, match=re.escape(says)):
        validate({"schema_version": version}, "old/results.json")
