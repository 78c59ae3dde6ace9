"""What the report's figures draw, read from the matplotlib artists (not the pixels):

- learning curves keep every method visible: the oracle wide and translucent underneath,
  ``adapt``'s phase 1 dashed (it trains exactly as the oracle) and its phase 2 after it;
- the oracle's heat-map panel shows its raw return, not the 1.0 it scores against itself;
- returns by episode of a trial are drawn only when trials have more than one episode;
- the latent error is drawn with the mean-latent baseline.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from synthetic import synthetic_results

from mtml_rl.evaluation.analysis import analyze
from mtml_rl.evaluation.plots import adaptation_figure, colors, heat_map_figure, learning_figure
from mtml_rl.evaluation.results import AdaptationCurve, GridResult, Results
from mtml_rl.methods.oracle import ORACLE
from mtml_rl.specs.spec import TaskSpec, resolve_spec
from mtml_rl.training.monitor import POST_TRAINING_RETURN

ORACLE_LABEL = ORACLE.report_label
RETURN = "returns/train_episode_mean"
STEPS = "time/total_timesteps"


@pytest.fixture(scope="module")
def cartpole() -> TaskSpec:
    return resolve_spec("mtml/CartPole-v0")


def _write_progress(folder: Path, rows: list[dict[str, float]]) -> None:
    (folder / "logs").mkdir(parents=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(folder / "logs" / "progress.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _logged(results: Results, tmp_path: Path) -> None:
    """Progress logs: the oracle's and adapt's phase 1 identical, adapt's phase 2 after them."""
    phase1 = [{STEPS: float(s), RETURN: 20.0 + s / 10} for s in range(1000, 5001, 1000)]
    phase2 = [{STEPS: 5000.0 + s, POST_TRAINING_RETURN: 300.0 + s / 100} for s in (500, 1000)]
    for run in results.runs:
        rows = {"adapt": phase1 + phase2, "oracle": phase1}.get(run.method, [{STEPS: 5000.0, RETURN: 60.0}])
        _write_progress(Path(run.path), rows)


def test_learning_curves_keep_every_method_and_both_phases_of_adapt_visible(
    cartpole: TaskSpec, tmp_path: Path
) -> None:
    results = synthetic_results(
        cartpole, {"dr": 60.0, "adapt": 400.0, "oracle": 450.0}, random_return=20.0, seeds=(0,), root=tmp_path
    )
    _logged(results, tmp_path)
    fig = learning_figure(results, results.runs[0].spec, colors([r.label for r in results.runs]))
    assert fig is not None
    train_ax = fig.axes[0]
    lines = {line.get_label(): line for line in train_ax.get_lines()}
    assert {"dr s0", "adapt s0 phase 1", "adapt s0 phase 2 (phase2)", f"{ORACLE_LABEL} s0"} <= set(lines)
    oracle, phase1, phase2 = (
        lines[f"{ORACLE_LABEL} s0"],
        lines["adapt s0 phase 1"],
        lines["adapt s0 phase 2 (phase2)"],
    )
    np.testing.assert_array_equal(oracle.get_ydata(), phase1.get_ydata())  # the very same curve...
    assert oracle.get_linewidth() > 2 * phase1.get_linewidth()  # ...the oracle wide underneath
    assert (oracle.get_alpha() or 1.0) < 1.0 and oracle.get_zorder() < phase1.get_zorder()
    assert phase1.get_linestyle() == "--" and phase2.get_linestyle() == "-"  # adapt dashed on top
    assert phase2.get_marker() == "o" and min(phase2.get_xdata()) > max(phase1.get_xdata())
    legend = [t.get_text() for t in train_ax.get_legend().get_texts()]
    assert "adapt s0 phase 1" in legend and "adapt s0 phase 2 (phase2)" in legend


def _grid(results: Results) -> GridResult:
    """A 2 x 3 grid: the oracle returns 400 to 480 across cells, dr 100, adapt 300."""
    values = {"dr": 100.0, "adapt": 300.0}
    oracle = [[400.0, 420.0, 440.0], [440.0, 460.0, 480.0]]
    returns = {
        r.id: oracle if r.privileged else [[values[r.method]] * 3 for _ in range(2)] for r in results.runs
    }
    grid = GridResult(
        results.runs[0].spec,
        ["length", "actuator_gain"],
        [0.5, 1.0, 1.5],
        [-1.0, 1.0],
        {},
        [[[0.5, 1.5], [0.5, 1.5]]],
        None,
        [[20.0] * 3, [20.0] * 3],
        None,
        returns,
    )
    results.grids = [grid]
    analyze(results)
    return grid


def test_the_oracle_heat_map_panel_shows_raw_return(cartpole: TaskSpec) -> None:
    results = synthetic_results(cartpole, {"dr": 60.0, "adapt": 400.0, "oracle": 450.0}, random_return=20.0)
    grid = _grid(results)
    fig = heat_map_figure(results, grid)
    assert fig is not None
    panels = {ax.get_title().split("\n")[0]: ax for ax in fig.axes if ax.get_title()}
    assert set(panels) == {"adapt", "dr", ORACLE_LABEL}
    oracle = panels[ORACLE_LABEL]
    assert "raw mean return" in oracle.get_title()
    np.testing.assert_allclose(oracle.images[0].get_array(), [[400, 420, 440], [440, 460, 480]])
    assert oracle.images[0].get_clim() == (400.0, 480.0)  # its own scale, not [0, 1]
    np.testing.assert_allclose(
        panels["adapt"].images[0].get_array(), (300 - 20) / (np.array(grid.reference_return) - 20)
    )
    assert panels["adapt"].images[0].get_clim() == (0.0, 1.0)
    bars = [ax.get_ylabel() for ax in fig.axes if not ax.get_title()]
    assert f"{ORACLE_LABEL}: mean return" in bars and "normalized return (clipped to [0, 1])" in bars


def _with_curves(results: Results, trial_episodes: int) -> Results:
    for run in results.runs:
        latent = [0.5, 0.3, 0.1] if run.method == "adapt" else None
        baseline = 0.6 if run.method == "adapt" else None
        results.adaptation.append(
            AdaptationCurve(
                run.id,
                run.spec,
                "test-interpolation",
                [1.0, 2.0, 3.0],
                [100.0 + 10 * j for j in range(trial_episodes)],
                latent,
                baseline,
            )
        )
    return results


def test_returns_by_episode_only_for_multi_episode_trials(cartpole: TaskSpec) -> None:
    returns = {"dr": 60.0, "adapt": 400.0, "oracle": 450.0}
    palette = colors(["dr", "adapt", ORACLE_LABEL])
    one = _with_curves(synthetic_results(cartpole, returns, random_return=20.0), 1)
    assert adaptation_figure(one, one.runs[0].spec, "episode_return", palette) is None
    assert adaptation_figure(one, one.runs[0].spec, "step_return", palette) is not None
    two = _with_curves(synthetic_results(cartpole, returns, random_return=20.0), 2)
    fig = adaptation_figure(two, two.runs[0].spec, "episode_return", palette)
    assert fig is not None
    assert {line.get_label() for line in fig.axes[0].get_lines()} == {"dr", "adapt", ORACLE_LABEL}
    assert all(len(line.get_xdata()) == 2 for line in fig.axes[0].get_lines())


def test_the_latent_error_is_drawn_with_the_mean_latent_baseline(cartpole: TaskSpec) -> None:
    results = _with_curves(synthetic_results(cartpole, {"dr": 60.0, "adapt": 400.0}, random_return=20.0), 1)
    fig = adaptation_figure(results, results.runs[0].spec, "latent_error", colors(["dr", "adapt"]))
    assert fig is not None
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"adapt", "adapt: mean latent (constant guess)"}
    baseline = lines["adapt: mean latent (constant guess)"]
    assert list(baseline.get_ydata()) == [0.6, 0.6] and baseline.get_linestyle() == ":"
    assert lines["adapt"].get_color() == baseline.get_color()


def test_a_damaged_training_log_leaves_out_its_curve_with_a_note(cartpole: TaskSpec, tmp_path: Path) -> None:
    """A run whose ``progress.csv`` is not the log training writes (garbled bytes) draws no
    learning curve; the others are drawn, and the report's notes say which log and why."""
    results = synthetic_results(
        cartpole, {"dr": 60.0, "adapt": 400.0, "oracle": 450.0}, random_return=20.0, seeds=(0,), root=tmp_path
    )
    _logged(results, tmp_path)
    damaged = next(r for r in results.runs if r.method == "dr")
    (Path(damaged.path) / "logs" / "progress.csv").write_bytes(b"\x9c\x01garbled\n")
    fig = learning_figure(results, results.runs[0].spec, colors([r.label for r in results.runs]))
    assert fig is not None
    labels = {line.get_label() for line in fig.axes[0].get_lines()}
    assert "dr s0" not in labels and f"{ORACLE_LABEL} s0" in labels
    assert [n for n in results.notes if "progress.csv" in n] == [
        f"{damaged.path}/logs/progress.csv is not a CSV log: it is not UTF-8 text (byte 0 is b'\\x9c'): "
        "its learning curve is left out"
    ]
