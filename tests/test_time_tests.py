"""``scripts/time_tests.py``: runs the make target it is given and reports its exit code."""

from __future__ import annotations

import subprocess

import pytest
from script_loading import load_script


def test_the_target_and_workers_are_passed_to_make_and_its_exit_code_returned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []

    def fake_call(command: list[str]) -> int:
        calls.append(command)
        return 3

    monkeypatch.setattr(subprocess, "call", fake_call)
    assert load_script("time_tests").main(["--target", "test", "--workers", "2"]) == 3
    assert calls == [["make", "--no-print-directory", "test", "PYTEST_WORKERS=2"]]
    assert "make test: exit 3, wall" in capsys.readouterr().err
