"""``scripts/rerun_phase2.py`` on a tiny ``adapt`` run: a row for the run's own module and
one per share, and the run folder left as it was."""

from __future__ import annotations

import pytest
from adaptation_helpers import TinyRun
from script_loading import load_script

pytestmark = pytest.mark.slow  # about 10 CPU-s: a tiny run, a phase 2 and latent errors on 64 tasks


def test_rerun_phase2_prints_a_row_per_module(tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]) -> None:
    run = tiny_run("adapt")
    saved = (run.path / "final" / "adaptation.pt").read_bytes()
    script = load_script("rerun_phase2")
    script.main([str(run.path), "--shares", "1", "--tasks", "2"])
    script.main([str(run.path), "--shares", "1", "--tasks", "2", "--adapt-epochs", "2"])
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and line.split(" | ")[1] != "module"]
    labels = [row.split(" | ")[1] for row in rows]
    assert labels == ["as trained", "share 1", "as trained", "share 1, 2 epochs"]
    assert all(len(row.split(" | ")) == 6 for row in rows)
    assert (run.path / "final" / "adaptation.pt").read_bytes() == saved
