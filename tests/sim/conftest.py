"""Fixtures of the simulator-backed family tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MuJoCo appends its compiler warnings to ``MUJOCO_LOG.TXT`` in the working directory
    (HalfCheetah's XML uses a deprecated attribute); keep that file out of the checkout."""
    monkeypatch.chdir(tmp_path)
