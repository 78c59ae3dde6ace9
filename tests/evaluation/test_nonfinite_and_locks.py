"""``evaluate`` and ``compare`` refuse non-finite numbers and damaged results with one message
(exit code 2), and refuse to write an output folder another live process is writing."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from evaluation_helpers import Evaluated

from mtml_rl.cli.main import main
from mtml_rl.errors import CheckpointError
from mtml_rl.evaluation.output import RESULTS_FILE, write_outputs
from mtml_rl.evaluation.results import load_results, non_finite
from mtml_rl.training import rundir

pytestmark = pytest.mark.slow  # bad input on the session's evaluation, and lock holders in other processes

HOLDER = """
import sys
from mtml_rl.locks import lock_folder
with lock_folder(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def _damaged(evaluated: Evaluated, tmp_path: Path, edit: str) -> Path:
    """A copy of the evaluation's results.json with one number replaced by ``edit`` (JSON text)."""
    document = json.loads((evaluated.out / RESULTS_FILE).read_text())
    document["episodes"][3]["ret"] = "__EDIT__"
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(document).replace('"__EDIT__"', edit))
    return path


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], out: Path) -> str:
    code = main([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*")), "output left behind"
    return err


@pytest.mark.parametrize("edit", ["NaN", "Infinity", "-Infinity"])
def test_compare_refuses_non_finite_returns(
    capsys: pytest.CaptureFixture[str], evaluated: Evaluated, tmp_path: Path, edit: str
) -> None:
    path = _damaged(evaluated, tmp_path, edit)
    err = _refused(capsys, ["compare", str(path)], tmp_path / "out")
    assert "episodes/3/ret is" in err and "not a finite number" in err and str(path) in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(lambda t: t[: len(t) // 2], "cannot read results", id="truncated"),
        pytest.param(lambda t: "[" * 100_000 + "]" * 100_000, "nested too deeply", id="nested"),
        pytest.param(lambda t: "", "cannot read results", id="empty"),
    ],
)
def test_compare_refuses_damaged_results(
    capsys: pytest.CaptureFixture[str], evaluated: Evaluated, tmp_path: Path, text: object, words: str
) -> None:
    path = tmp_path / "damaged.json"
    path.write_text(text((evaluated.out / RESULTS_FILE).read_text()))  # type: ignore[operator]
    assert words in _refused(capsys, ["compare", str(path)], tmp_path / "out")


def test_results_with_nan_are_never_written(evaluated: Evaluated, tmp_path: Path) -> None:
    results = copy.deepcopy(evaluated.results)
    results.episodes[0].ret = float("nan")
    assert non_finite(results.to_json()) == ("episodes/0/ret", results.episodes[0].ret)
    with pytest.raises(CheckpointError, match="not a finite number"):
        write_outputs(results, tmp_path, title="x")
    assert list(tmp_path.iterdir()) == []


def test_the_evaluation_itself_loads(evaluated: Evaluated) -> None:
    assert load_results(evaluated.out).episodes  # the source of the damaged copies is valid


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``tmp_path / "out"``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    yield process
    process.kill()
    process.wait()


def test_compare_into_a_folder_in_use_is_refused(
    capsys: pytest.CaptureFixture[str], evaluated: Evaluated, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    code = main(["compare", str(evaluated.out), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"is in use by PID {holder.pid}" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_evaluate_into_a_folder_in_use_is_refused(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    argv = ["evaluate", str(runs["dr"]), "--out", str(tmp_path / "out"), "--quiet", "--episodes", "2"]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"is in use by PID {holder.pid}" in err
    assert not (tmp_path / "out").exists()


def test_an_evaluation_deep_inside_a_run_in_use_is_refused(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """An evaluation written anywhere inside a run is one more writer of it (the run's
    ``--force`` would delete it); only one written straight into the run was locked."""
    run = tmp_path / "out"  # the run the holder is writing
    run.mkdir()
    for name in rundir.RUN_MARKERS:
        (run / name).write_text("")
    target = run / "evals" / "today"
    argv = ["evaluate", str(runs["dr"]), "--out", str(target), "--quiet", "--episodes", "2"]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"is in use by PID {holder.pid}" in err
    assert not (run / "evals").exists()


def test_an_evaluation_folder_holding_other_files_is_not_replaced(
    capsys: pytest.CaptureFixture[str], runs: dict[str, Path], tmp_path: Path
) -> None:
    """Evaluating again into a folder replaces it whole: notes or analyses a user kept in it
    were deleted without a word."""
    out = tmp_path / "ev"
    argv = ["evaluate", str(runs["dr"]), "--out", str(out), "--quiet", "--episodes", "2", "--no-figures"]
    assert main(argv) == 0
    (out / "notes.txt").write_text("keep me\n")
    (out / "mine").mkdir()
    before = sorted(p.name for p in out.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out {out} holds an earlier evaluation and files it did not write (mine, notes.txt)" in err
    assert sorted(p.name for p in out.iterdir()) == before and (out / "notes.txt").read_text() == "keep me\n"
    (out / "notes.txt").unlink()
    (out / "mine").rmdir()
    assert main(argv) == 0  # what an evaluation wrote alone is replaced as before
