"""``scripts/diagnose_adapt.py`` on a tiny ``adapt`` run: rows for the true latent, the mean
latent, the run's own module and a phase-2 variant, on validation tasks, the run left as it was."""

from __future__ import annotations

import pytest
from adaptation_helpers import TinyRun
from script_loading import load_script

pytestmark = pytest.mark.slow  # about 10 CPU-s: a tiny run, a phase 2 and a few episodes


def test_diagnose_adapt_prints_a_row_per_way_of_acting(
    tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tiny_run("adapt")
    saved = (run.path / "final" / "adaptation.pt").read_bytes()
    script = load_script("diagnose_adapt")
    argv = [str(run.path), "--tasks", "2", "--sampled", "5", "--probe", "3"]
    script.main([*argv, "--variants", "one=epochs:1,replay:none"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    labels = [row.split(" | ")[0][2:] for row in rows]
    assert labels[:6] == [
        "true z",
        "true z, sampled for 5 steps",
        "mean z",
        "ẑ (as trained)",
        "ẑ (as trained), sampled for 5 steps",
        "ẑ (as trained), probe 3 steps, then commit",
    ]
    assert labels[6].startswith("ẑ one (") and labels[7].endswith("sampled for 5 steps")
    assert labels[8].endswith("probe 3 steps, then commit")
    assert len({len(row.split(" | ")) for row in rows}) == 1
    assert (run.path / "final" / "adaptation.pt").read_bytes() == saved


def test_diagnose_adapt_names_an_unknown_setting() -> None:
    script = load_script("diagnose_adapt")
    with pytest.raises(SystemExit, match=r"unknown phase-2 setting 'epoch'.*epochs"):
        script.parse_variant("bad=epoch:3")


def test_diagnose_adapt_plays_a_named_split_of_the_runs_spec(
    tiny_run: TinyRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--split``: the first ``--tasks`` tasks of that split, for a validation carve-out."""
    run = tiny_run("adapt")
    script = load_script("diagnose_adapt")
    script.main([str(run.path), "--tasks", "2", "--split", "test-interpolation", "--no-baselines"])
    out = capsys.readouterr().out
    assert f"{run.path.name}: 2 tasks of its split test-interpolation" in out
    assert [line.split(" | ")[0][2:] for line in out.splitlines() if line.startswith("| ")][1:] == [
        "ẑ (as trained)"
    ]


def test_diagnose_adapt_names_the_splits_of_a_spec_without_the_one_asked_for(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    script = load_script("diagnose_adapt")
    with pytest.raises(SystemExit, match=r"has no split 'test-extrapolaton'; choose one of train, "):
        script.main([str(run.path), "--split", "test-extrapolaton"])
