"""``report.md`` says what a comparison shows: the share of the dr-to-oracle gap every method
closes on every split, a warning where there is no gap to close, and a warning where the
oracle (the reference of every normalized score) is below its family's solved level."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import synthetic_results

from mtml_rl.evaluation.analysis import is_derived_note
from mtml_rl.evaluation.gaps import gap_rows, oracle_below_solved, share_of_gap
from mtml_rl.evaluation.report import render
from mtml_rl.specs.spec import TaskSpec, load_spec_file

# A CartPole spec on which the task barely matters: the pole's length varies by 2% and the
# actuator keeps its sign, so one context-blind policy balances every task as the oracle does.
NO_GAP_SPEC = """
name: CartPoleNoGap
version: 0
family: cartpole
description: CartPole whose tasks all behave alike (no gap for adaptation to close).
seed: 7
max_episode_steps: 500
parameters:
  length:
    train: [0.99, 1.01]
    extrapolation: [[0.98, 0.99], [1.01, 1.02]]
splits:
  train: 8
  test-interpolation: 4
  test-extrapolation: 4
"""


@pytest.fixture(scope="module")
def no_gap_spec(tmp_path_factory: pytest.TempPathFactory) -> TaskSpec:
    path = tmp_path_factory.mktemp("spec") / "nogap.yaml"
    path.write_text(NO_GAP_SPEC)
    return load_spec_file(path)


@pytest.fixture(scope="module")
def cartpole() -> TaskSpec:
    from mtml_rl.specs.spec import resolve_spec

    return resolve_spec("mtml/CartPole-v0")


def test_share_of_gap_is_none_without_a_gap() -> None:
    assert share_of_gap(75.0, 50.0, 100.0) == pytest.approx(0.5)
    assert share_of_gap(40.0, 50.0, 100.0) == pytest.approx(-0.2)
    assert share_of_gap(80.0, 100.0, 100.0) is None
    assert share_of_gap(80.0, 100.0, 90.0) is None


def test_report_has_the_share_of_gap_table_for_every_method_and_split(cartpole: TaskSpec) -> None:
    returns = {"dr": 100.0, "adapt": 450.0, "history": 300.0, "oracle": 490.0}
    splits = ("test-interpolation", "test-extrapolation", "test-combinatorial")
    results = synthetic_results(cartpole, returns, random_return=20.0, splits=splits)
    report = render(results, "t")
    section = report.split("## Share of the gap closed", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| split"))
    assert "| adapt | history |" in header and "| dr | oracle (privileged) | gap |" in header
    rows = {
        line.split(" | ")[0].strip("| "): line for line in section.splitlines() if line.startswith("| test")
    }
    assert set(rows) == set(splits)
    for line in rows.values():
        cells = [c.strip() for c in line.strip("|").split("|")]
        adapt, history = cells[4], cells[5]
        assert adapt == f"{round(100 * (450 - 100) / (490 - 100))}%"  # about 90%
        assert history == f"{round(100 * (300 - 100) / (490 - 100))}%"
        assert cells[-1] == "–"  # a clear gap, a solved oracle: no caveat
    assert not [n for n in results.notes if "no meaningful gap" in n or "solved level" in n]


def test_a_spec_with_no_gap_is_warned_about(no_gap_spec: TaskSpec) -> None:
    returns = {"dr": 490.0, "adapt": 491.0, "oracle": 491.0}
    results = synthetic_results(no_gap_spec, returns, random_return=20.0, splits=("test-interpolation",))
    (row,) = gap_rows(results)
    assert not row.meaningful
    (note,) = [n for n in results.notes if "no meaningful gap" in n]
    assert note.startswith("mtml/CartPoleNoGap-v0 test-interpolation: dr scores 1.00")
    assert is_derived_note(note)
    report = render(results, "t")
    assert "**no meaningful gap**" in report
    assert note in report  # listed among the notes too


def test_an_oracle_below_its_solved_level_is_flagged(cartpole: TaskSpec) -> None:
    # CartPole's solved level is 0.95 per step: 475 over 500 steps; this oracle scores 300
    returns = {"dr": 60.0, "adapt": 250.0, "oracle": 300.0}
    splits = ("test-interpolation", "test-extrapolation")
    results = synthetic_results(cartpole, returns, random_return=20.0, splits=splits)
    (below,) = oracle_below_solved(results)  # extrapolation tasks lie outside the train ranges
    assert (below.split, below.solved_return) == ("test-interpolation", pytest.approx(475.0))
    (note,) = [n for n in results.notes if "solved level" in n]
    assert (
        f"the oracle's mean return {below.oracle_return:.1f} is below its family's solved level 475.0" in note
    )
    assert below.oracle_return == pytest.approx(300.0, abs=1.0)
    report = render(results, "t")
    assert "**oracle below solved**" in report
    assert "## Documented solved levels" in report


@pytest.mark.parametrize(("oracle", "flagged"), [(-288.0, True), (-160.0, False)])
def test_a_negative_solved_level_flags_only_an_oracle_below_it(oracle: float, flagged: bool) -> None:
    # Pendulum's solved level is -1 per step (-200 over 200 steps): the reduced grid's 10k-step
    # oracle scored about -288 on test-interpolation in the grid's first run (flagged); -160 is above it
    from mtml_rl.specs.spec import resolve_spec

    pendulum = resolve_spec("mtml/Pendulum-v0")
    returns = {"dr": -800.0, "adapt": -300.0, "oracle": oracle}
    results = synthetic_results(pendulum, returns, random_return=-1200.0, splits=("test-interpolation",))
    below = oracle_below_solved(results)
    assert [(b.split, b.solved_return) for b in below] == (
        [("test-interpolation", pytest.approx(-200.0))] if flagged else []
    )
    assert bool([n for n in results.notes if "solved level" in n]) == flagged


def test_derived_caveats_are_rewritten_not_duplicated(no_gap_spec: TaskSpec) -> None:
    from mtml_rl.evaluation.analysis import analyze

    results = synthetic_results(no_gap_spec, {"dr": 490.0, "oracle": 491.0}, random_return=20.0)
    before = list(results.notes)
    assert before == analyze(results).notes


def test_reports_of_old_results_still_render(cartpole: TaskSpec, tmp_path: Path) -> None:
    results = synthetic_results(cartpole, {"dr": 60.0, "oracle": 480.0}, random_return=20.0)
    for task in results.tasks:  # written before solved levels were recorded (schema 1.1)
        task.solved_return = None
    assert "## Documented solved levels" not in render(results, "t")


def test_the_protocol_names_the_cpu_kernels_the_runs_were_trained_with(cartpole: TaskSpec) -> None:
    results = synthetic_results(cartpole, {"dr": 60.0, "oracle": 480.0}, random_return=20.0, seeds=(0, 1))
    for run in results.runs:
        run.cpu_kernels = "AVX2, oneDNN cap default"
    line = next(x for x in render(results, "t").splitlines() if "CPU kernels" in x)
    assert line.endswith("AVX2, oneDNN cap default, every run.")
    results.runs[0].cpu_kernels = "AVX512, oneDNN cap default"
    results.runs[1].cpu_kernels = None  # a run that predates the record, or a 1.2 results file
    line = next(x for x in render(results, "t").splitlines() if "CPU kernels" in x)
    assert "differ between runs" in line
    assert f"AVX512, oneDNN cap default: {results.runs[0].id};" in line
    assert f"not recorded: {results.runs[1].id}" in line
    assert f"AVX2, oneDNN cap default: {results.runs[2].id}, {results.runs[3].id}" in line


def test_the_runs_table_gives_each_runs_mean_return_per_split(cartpole: TaskSpec) -> None:
    splits = ("test-interpolation", "test-extrapolation")
    results = synthetic_results(cartpole, {"dr": 60.0, "oracle": 480.0}, random_return=20.0, splits=splits)
    rows = [
        line for line in render(results, "t").split("## Runs", 1)[1].splitlines() if line.startswith("| run")
    ]
    for run in results.runs:
        expected = [
            sum(e.ret for e in results.episodes if e.run == run.id and e.split == split)
            / sum(1 for e in results.episodes if e.run == run.id and e.split == split)
            for split in splits
        ]
        row = next(line for line in rows if line.startswith(f"| {run.id} |"))
        assert f"| {expected[0]:.1f} / {expected[1]:.1f} |" in row
