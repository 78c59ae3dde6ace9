"""``scripts/time_tests.py``: runs the make target it is given and reports its exit code."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("time_tests", ROOT / "scripts" / "time_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_target_and_workers_are_passed_to_make_and_its_exit_code_returned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []

    def fake_call(command: list[str]) -> int:
        calls.append(command)
        return 3

    monkeypatch.setattr(subprocess, "call", fake_call)
    assert _script().main(["--target", "test", "--workers", "2"]) == 3
    assert calls == [["make", "--no-print-directory", "test", "PYTEST_WORKERS=2"]]
    assert "make test: exit 3, wall" in capsys.readouterr().err
