"""``evaluate`` on tiny trained runs writes every output, and the outputs agree."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import jsonschema
import matplotlib.image
import pytest
from evaluation_helpers import PNG_SIGNATURE, SPLITS, Evaluated, small_eval
from permission_helpers import unexpected_modes

from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.evaluation.results import CSV_COLUMNS, SCHEMA_FILE, SCHEMA_VERSION, load_results
from mtml_rl.methods.oracle import ORACLE
from mtml_rl.training import rundir
from mtml_rl.training.monitor import POST_TRAINING_RETURN

ORACLE_LABEL = ORACLE.report_label
"""The oracle's name in results."""


@pytest.mark.slow
def test_every_output_is_written(evaluated: Evaluated) -> None:
    names = {p.name for p in evaluated.out.iterdir()}
    assert {"results.json", "results.csv", "report.md", "figures"} <= names
    assert not [p for p in evaluated.out.parent.iterdir() if p.name.startswith(".")], "temporary folder left"
    pictures = {p.split("/")[-1].split("-")[0] for p in evaluated.results.pictures}
    assert {"learning", "adaptation", "latent", "heatmap", "profiles", "intervals"} <= pictures
    assert unexpected_modes(evaluated.out) == []  # not readable by its owner alone


@pytest.mark.slow
def test_results_json_validates_against_the_shipped_schema(evaluated: Evaluated) -> None:
    document = json.loads((evaluated.out / "results.json").read_text())
    jsonschema.validate(document, json.loads(SCHEMA_FILE.read_text()))
    assert document["schema_version"] == SCHEMA_VERSION
    assert load_results(evaluated.out).to_json() == document  # reads back whole
    for run in evaluated.results.runs:  # what each run's versions.json recorded
        assert run.cpu_kernels == rundir.recorded_kernels(Path(run.path)) and run.cpu_kernels
    for run in evaluated.results.runs:  # and its hyperparameters record, less the budget (1.7)
        recorded = rundir.recorded_hyperparams(Path(run.path))
        assert recorded is not None and run.training is not None and "n_timesteps" not in run.training
        assert all(run.training[k] == v for k, v in recorded.items() if k != "n_timesteps")


@pytest.mark.slow
def test_csv_rows_match_the_json(evaluated: Evaluated) -> None:
    document = json.loads((evaluated.out / "results.json").read_text())
    with open(evaluated.out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(document["episodes"]) == 3 * 2 * (64 + 16)  # runs x episodes x tasks
    params = {(t["spec"], t["split"], t["task_id"]): t["params"] for t in document["tasks"]}
    for row, episode in zip(rows, document["episodes"], strict=True):
        key = (episode["spec"], episode["split"], episode["task_id"])
        assert (row["run"], row["spec"], row["split"], row["task_id"]) == (episode["run"], *key)
        assert (int(row["trial"]), int(row["episode"]), int(row["index"])) == (
            episode["trial"],
            episode["episode"],
            episode["index"],
        )
        assert float(row["return"]) == episode["ret"] and int(row["length"]) == episode["length"]
        assert float(row["normalized"]) == episode["normalized"]
        assert json.loads(row["params"]) == params[key]


@pytest.mark.slow
def test_the_report_links_every_picture_and_each_is_a_valid_png(evaluated: Evaluated) -> None:
    report = (evaluated.out / "report.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert sorted(linked) == sorted(evaluated.results.pictures)
    for link in linked:
        path = evaluated.out / link
        assert path.is_file(), link
        assert path.read_bytes()[:8] == PNG_SIGNATURE, link
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


@pytest.mark.slow
def test_scores_cover_every_method_and_split_and_label_the_oracle(evaluated: Evaluated) -> None:
    results = evaluated.results
    assert {(a.split, a.label) for a in results.aggregates} == {
        (s, label) for s in SPLITS for label in ("adapt", "dr", ORACLE_LABEL)
    }
    oracle = next(r for r in results.runs if r.method == "oracle")
    assert oracle.privileged and oracle.label == ORACLE_LABEL
    assert not any(r.privileged for r in results.runs if r.method != "oracle")
    assert {t.reference_source for t in results.tasks} == {"oracle"}
    assert all(t.family_reference == 500.0 for t in results.tasks)  # both references recorded
    assert all(a.iqm.low <= a.iqm.point <= a.iqm.high for a in results.aggregates)
    assert len(results.improvements) == 3 * len(SPLITS)  # every pair, every split
    assert ORACLE_LABEL in (evaluated.out / "report.md").read_text()


@pytest.mark.slow
def test_adaptation_is_measured(evaluated: Evaluated) -> None:
    results = evaluated.results
    assert len(results.adaptation) == 3 * len(SPLITS)
    for curve in results.adaptation:
        assert len(curve.step_return) == 500 and len(curve.episode_return) == 1
        assert curve.step_return == sorted(curve.step_return)  # CartPole's reward is +1 per step
        method = results.run(curve.run).method
        if method == "adapt":
            assert curve.latent_error is not None and curve.latent_error[0] is not None
            assert all(v is None or v >= 0 for v in curve.latent_error)
            assert curve.mean_latent_error is not None and curve.mean_latent_error > 0
        else:
            assert curve.latent_error is None and curve.mean_latent_error is None
    names = [p.split("/")[-1] for p in results.pictures]
    assert not [n for n in names if n.startswith("adaptation-episodes")]  # one-episode trials


@pytest.mark.slow
def test_the_report_says_what_it_shows(evaluated: Evaluated) -> None:
    report = (evaluated.out / "report.md").read_text()
    assert "## Share of the gap closed" in report
    section = report.split("## Share of the gap closed", 1)[1].split("\n## ", 1)[0]
    assert "| split | dr | " in section and "| adapt |" in section
    assert all(t.solved_return == 475.0 for t in evaluated.results.tasks)  # CartPole, 500 steps


def test_adapt_logs_its_phase_two_return(runs: dict[str, Path]) -> None:
    with open(runs["adapt"] / "logs" / "progress.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    phase2 = [r for r in rows if r.get(POST_TRAINING_RETURN)]
    assert phase2, "phase 2 logged no return"
    first = min(float(r["time/total_timesteps"]) for r in phase2)
    trained = [float(r["time/total_timesteps"]) for r in rows if r.get("returns/train_episode_mean")]
    assert trained and first > max(trained)  # drawn after phase 1


@pytest.mark.slow
def test_the_heat_map_grid_is_normalized_per_run(evaluated: Evaluated) -> None:
    (grid,) = evaluated.results.grids
    assert grid.params == ["length", "actuator_gain"]
    assert grid.x_values == pytest.approx([0.25, 1.375, 2.5]) and grid.y_values == pytest.approx(
        [-2.0, 0.0, 2.0]
    )
    assert grid.train_boxes == [[[0.5, 1.5], [-1.5, -0.5]], [[0.5, 1.5], [0.5, 1.5]]]
    assert grid.held_out_box == [[1.2, 1.5], [1.0, 1.5]]
    assert set(grid.normalized) == {r.id for r in evaluated.results.runs}
    assert all(len(row) == 3 for values in grid.normalized.values() for row in values)


def test_without_figures_the_report_has_no_pictures(runs: dict[str, Path], tmp_path: Path) -> None:
    config = small_eval(splits=("test-interpolation",), episodes=1, bootstrap_reps=50, figures=False)
    results, out = evaluate([runs["dr"]], config, tmp_path / "evaluation")
    assert results.pictures == []
    assert not (out / "figures").exists()
    assert "](figures/" not in (out / "report.md").read_text()
    assert json.loads((out / "results.json").read_text())["pictures"] == []


@pytest.mark.parametrize("content", ["{", "[]", '{"torch_cpu_capability": 1}', "[" * 100_000])
def test_a_kernel_record_that_does_not_read_is_left_out(content: str, tmp_path: Path) -> None:
    """The record is informative: a ``versions.json`` that does not read (a nesting deep enough to
    exhaust the parser's recursion included) gives none, never a traceback."""
    (tmp_path / "versions.json").write_text(content)
    assert rundir.recorded_kernels(tmp_path) is None
