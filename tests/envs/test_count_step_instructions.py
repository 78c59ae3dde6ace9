"""``scripts/count_step_instructions.py``: callgrind's dumps read into counts per step, the
table's ratios against the reference of the same id, and the counted loop's envs (valgrind
itself is not run here)."""

from __future__ import annotations

import pytest
from script_loading import load_script

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir I1mr D1mr
summary: 3000 30 6
totals: 3000 30 6
"""


def test_a_dump_is_read_by_event_name() -> None:
    script = load_script("count_step_instructions")
    assert script.parse_dump(DUMP) == {"Ir": 3000, "I1mr": 30, "D1mr": 6}
    with pytest.raises(ValueError, match="not a callgrind dump"):
        script.parse_dump("no events here\n")


def test_the_ratio_is_the_reference_over_ours() -> None:
    script = load_script("count_step_instructions")
    counts = [
        script.Count("mtml/X-v0", "reference", {"Ir": 900.0}),
        script.Count("mtml/X-v0", "ours", {"Ir": 1000.0}),
        script.Count("mtml/Y-v0", "ours", {"Ir": 500.0}),
    ]
    lines = script.table(counts).splitlines()
    assert lines[2] == "| mtml/X-v0 | reference | 900 | — |"
    assert lines[3] == "| mtml/X-v0 | ours | 1,000 | 0.900 |"
    assert lines[4] == "| mtml/Y-v0 | ours | 500 | — |", "no reference: no ratio"


def test_the_counted_loop_runs_each_env_of_a_row(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("count_step_instructions")
    assert script.main(["--child", "mtml/CartPole-v0", "--steps", "20"]) == 0
    assert capsys.readouterr().out.split() == ["reference", "ours", "history"]
