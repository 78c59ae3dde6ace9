"""A damaged ``trials.json`` (the grid's manifest) is kept aside with a note and a new one is
begun from the trials' run folders; valid JSON of another shape (``[1, 2]``) ended the grid in
an ``AttributeError`` traceback, and an entry with a field of another type (``attempts: "x"``)
would have at its first attempt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_helpers import tiny_grid, trials_in_this_process

from mtml_rl.benchmark.manifest import DAMAGED_MANIFEST, MANIFEST_FILE, read_records
from mtml_rl.benchmark.runner import run_benchmark

ENTRY: dict[str, Any] = {
    "name": "CartPole-dr-s0",
    "env": "mtml/CartPole-v0",
    "method": "dr",
    "seed": 0,
    "run_dir": "r",
}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "not JSON"),
        ("[1, 2]", "no list of trials"),
        ('{"trials": 3}', "no list of trials"),
        ('{"trials": [1]}', "a trial's entry: int, not an object"),
        (json.dumps({"trials": [{"name": "x"}]}), "a trial's entry: no env, method, seed, run_dir"),
        (
            json.dumps({"trials": [{**ENTRY, "attempts": "x"}]}),
            "a trial's entry: a value of another type: attempts 'x'",
        ),
        (
            json.dumps({"trials": [{**ENTRY, "seed": True}]}),
            "a trial's entry: a value of another type: seed True",
        ),
        (json.dumps({"trials": [{**ENTRY, "colour": 1}]}), "a trial's entry: unknown fields colour"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_a_manifest_is_read_strictly(content: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_FILE
    path.write_text(content)
    assert read_records(path) == problem


def test_a_manifest_that_reads_gives_its_entries(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_FILE
    path.write_text(json.dumps({"trials": [{**ENTRY, "wall_s": 3, "error": None, "status": "failed"}]}))
    records = read_records(path)
    assert not isinstance(records, str) and records["CartPole-dr-s0"].status == "failed"
    assert read_records(tmp_path / "missing.json") == {}


@pytest.mark.slow  # a grid trained
def test_a_damaged_manifest_is_kept_aside_and_the_grid_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trials_in_this_process(monkeypatch)
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1)
    assert run_benchmark(grid, progress=False).ran == ["CartPole-dr-s0"]
    manifest = grid.out_dir / MANIFEST_FILE
    manifest.write_text("[1, 2]")
    capsys.readouterr()
    result = run_benchmark(grid, progress=False)
    assert result.ok and result.skipped == ["CartPole-dr-s0"] and result.ran == []
    assert (
        f"note: {manifest} is damaged (no list of trials); kept as {DAMAGED_MANIFEST}"
        in capsys.readouterr().err
    )
    assert (grid.out_dir / DAMAGED_MANIFEST).read_text() == "[1, 2]"
    records = read_records(manifest)
    assert not isinstance(records, str) and records["CartPole-dr-s0"].status == "finished"
