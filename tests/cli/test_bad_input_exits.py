"""Commands and scripts refuse bad input in one line with exit status 2: a zero or negative
count is a usage error (:mod:`mtml_rl.cli.arguments`), and a refused input, such as a folder that
is no run, is one ``PROGRAM: error: MESSAGE`` line (:func:`mtml_rl.errors.exit_status`), never a
traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from mtml_rl.cli.arguments import positive_float, positive_int
from mtml_rl.errors import CheckpointError, exit_status

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("20000", 20_000)])
def test_positive_int_takes_counts(text: str, value: int) -> None:
    assert positive_int(text) == value


@pytest.mark.parametrize(
    ("text", "message"), [("0", "at least 1, got 0"), ("-3", "got -3"), ("2.5", "whole")]
)
def test_positive_int_refuses_the_rest(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        positive_int(text)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "x"])
def test_positive_float_refuses_what_is_not_above_zero(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_float(text)
    assert positive_float("0.5") == 0.5


def test_a_refused_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    def main() -> int:
        raise CheckpointError("/x is not a run directory (no config.yaml); pass a folder made by train")

    assert exit_status("tool.py", main) == 2
    assert capsys.readouterr().err == (
        "tool.py: error: /x is not a run directory (no config.yaml); pass a folder made by train\n"
    )
    assert exit_status("tool.py", lambda: None) == 0
    assert exit_status("tool.py", lambda: 1) == 1


def test_other_errors_are_not_hidden() -> None:
    def main() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        exit_status("tool.py", main)


@pytest.mark.slow  # a fresh interpreter
def test_a_script_given_results_that_are_not_there_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "gap_by_task.py"), str(missing), "--param", "length"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"gap_by_task.py: error: {missing}: cannot read results"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
