"""``compare`` merges evaluations and runs into one table by method x split."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_helpers import small_eval

from mtml_rl.cli.main import main
from mtml_rl.evaluation.analysis import FLOORED_NOTE, analyze, is_derived_note
from mtml_rl.evaluation.evaluate import compare, evaluate
from mtml_rl.evaluation.results import load_results
from mtml_rl.methods.oracle import ORACLE

ORACLE_LABEL = ORACLE.report_label
"""The oracle's name in results."""

SPLIT = ("test-interpolation",)
NO_FIGURES = {"figures": False}
"""What these tests check is in results.json and report.md; the pictures are drawn (and
checked) by the session's evaluation (test_outputs, test_figures)."""


@pytest.fixture(scope="module")
def separate(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``dr`` and ``oracle`` evaluated separately (so dr alone is normalized by the family value)."""
    root = tmp_path_factory.mktemp("separate")
    for method in ("dr", "oracle"):
        evaluate([runs[method]], small_eval(splits=SPLIT, **NO_FIGURES), root / method)
    return {m: root / m for m in ("dr", "oracle")}


def test_merged_results_are_normalized_by_the_oracle(separate: dict[str, Path], tmp_path: Path) -> None:
    alone = load_results(separate["dr"])
    assert {t.reference_source for t in alone.tasks} == {"family"}
    results, out = compare(
        [separate["dr"] / "results.json", separate["oracle"]], small_eval(**NO_FIGURES), tmp_path / "cmp"
    )
    assert {t.reference_source for t in results.tasks} == {"oracle"}
    assert {(a.split, a.label) for a in results.aggregates} == {(SPLIT[0], "dr"), (SPLIT[0], ORACLE_LABEL)}
    assert [r.id for r in results.runs] == ["run0", "run1"]
    assert len(results.episodes) == len(alone.episodes) * 2
    assert (out / "report.md").is_file() and load_results(out).to_json() == results.to_json()


def test_runs_are_evaluated_under_the_protocol_of_the_results(
    separate: dict[str, Path], runs: dict[str, Path], tmp_path: Path
) -> None:
    code = main(
        [
            "compare",
            str(separate["oracle"]),
            str(runs["dr"]),
            "--split",
            *SPLIT,
            "--bootstrap-reps",
            "50",
            "--no-figures",
            "--quiet",
            "--out",
            str(tmp_path / "cmp"),
        ]
    )
    assert code == 0
    results = load_results(tmp_path / "cmp")
    assert results.protocol.episodes == 2
    assert {r.method for r in results.runs} == {"oracle", "dr"}


def test_different_protocols_are_refused(
    separate: dict[str, Path], runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "compare",
        str(separate["oracle"]),
        str(runs["dr"]),
        "--split",
        *SPLIT,
        "--episodes",
        "4",
        "--quiet",
    ]
    assert main([*argv, "--out", str(tmp_path / "cmp")]) == 2
    assert "different protocols (episodes 2 vs 4)" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()


def test_normalization_notes_are_recomputed_not_carried_over(separate: dict[str, Path]) -> None:
    """A merged input's note about floored gaps (normalized against another reference) must
    not survive into a result whose own normalization says otherwise."""
    results = load_results(separate["oracle"])
    stale = FLOORED_NOTE.format(spec="mtml/CartPole-v0", split=SPLIT[0], count=99)
    results.notes += [stale, "a note that is not about normalization"]
    analyze(results)
    floored = sum(t.gap_floored for t in results.tasks)
    fresh = FLOORED_NOTE.format(spec="mtml/CartPole-v0", split=SPLIT[0], count=floored)
    expected = [fresh] if floored else []
    assert [n for n in results.notes if is_derived_note(n) and "(gap floored)" in n] == expected
    assert len([n for n in results.notes if n == stale]) == (1 if stale == fresh else 0)
    assert "a note that is not about normalization" in results.notes
