"""``scripts/bench_single_envs.py`` runs at a tiny budget and prints its table, the PPO line
and the goals, with every ratio measured against a reference of the same run."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from script_loading import load_script


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:builtin type .* has no __module__:DeprecationWarning")  # Box2D's SWIG
def test_the_script_measures_a_numpy_and_a_simulator_family_and_ppo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load_script("bench_single_envs")
    argv = ["--quick", "--repeats", "1", "--ids", "mtml/CartPole-v0", "mtml/PointNav-v0"]
    assert bench.main([*argv, "mtml/LunarLander-v0", "--ppo-timesteps", "512", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| mtml/CartPole-v0 | CartPole-v1 |" in out
    assert "| mtml/LunarLander-v0 | LunarLanderContinuous-v3 |" in out
    assert "| mtml/PointNav-v0 | — | — |" in out, "a family without a reference has no ratio"
    assert "SB3 PPO via make_vec_env >= 0.97 of reference" in out
    for goal in ("numpy families >= 0.9", "simulator families >= 0.95", "H=16 history on numpy families"):
        assert goal in out


def test_rates_are_of_the_fastest_repeats() -> None:
    bench = load_script("bench_single_envs")
    times = {"ours": [2.0, 1.0], "history": [3.0, 1.5], "reference": [4.0, 2.0]}
    row = bench.summarize("mtml/X-v0", "X-v1", times, simulator=False)
    assert (row.ours, row.reference, row.ratio, row.history_cost) == (1.0, 0.5, 2.0, 1.5)


def test_ratios_are_medians_of_the_paired_repeats() -> None:
    """Each repeat's envs run back to back: the ratio is the median of the repeats' ratios
    (here 1.5, 1.1 and 0.8), not the ratio of fastest chunks from different repeats (1.0)."""
    bench = load_script("bench_single_envs")
    times = {"ours": [1.0, 3.0, 1.25], "history": [1.5, 3.0, 2.5], "reference": [1.5, 3.3, 1.0]}
    row = bench.summarize("mtml/X-v0", "X-v1", times, simulator=False)
    assert row.ratio == pytest.approx(1.1) and row.fastest_ratio == 1.0
    assert row.history_cost == pytest.approx(1.5) and row.history_ratio == pytest.approx(1.0)
    assert (row.ours, row.history, row.reference) == (1.0, 1 / 1.5, 1.0), "rates: the fastest chunks"
    assert bench.paired_ratio([2.0, 4.0], [1.0, 1.0]) == 3.0, "an even count: the mean of the middle two"


def test_one_id_per_family_by_default() -> None:
    import mtml_rl

    bench = load_script("bench_single_envs")
    ids = bench.default_ids()
    families = [mtml_rl.resolve_spec(spec_id).family for spec_id in ids]
    assert len(families) == len(set(families)) and "mtml/CartPole-v0" in ids
    if importlib.util.find_spec("metaworld") is not None:
        assert "mtml/ML1_reach-v3" in ids, "Meta-World is measured on one environment against its MT1"


def test_a_goal_is_met_by_every_process_not_met_by_none_undecided_otherwise() -> None:
    bench = load_script("bench_single_envs")
    spread = bench.Spread.of([0.96, 0.93, 0.99])
    assert spread == (0.96, 0.93, 0.99) and spread.cell() == "0.96 [0.93, 0.99]"
    assert bench.verdict(spread, 0.9) == "met"
    assert bench.verdict(spread, 0.95) == "undecided"
    assert bench.verdict(spread, 1.0) == "not met"
    cost = bench.Spread.of([1.25, 1.28])
    assert bench.verdict(cost, 1.3, at_most=True) == "met"
    assert bench.verdict(cost, 1.27, at_most=True) == "undecided"
    assert bench.verdict(cost, 1.2, at_most=True) == "not met"
    assert bench.overall(["met", "undecided", "met"]) == "undecided"
    assert bench.overall(["met", "undecided", "not met"]) == "NOT met"


def test_each_family_is_summarized_over_the_processes() -> None:
    bench = load_script("bench_single_envs")

    def row(spec_id: str, ratio: float | None, cost: float, simulator: bool) -> object:
        reference = None if ratio is None else "X-v1"
        return bench.Row(spec_id, reference, 1.0, 1.0, 1.0, ratio, ratio, cost, simulator)

    runs = [
        [row("mtml/A-v0", 0.97, 1.1, True), row("mtml/B-v0", None, 1.2, False)],
        [row("mtml/A-v0", 0.93, 1.3, True), row("mtml/B-v0", None, 1.4, False)],
        [row("mtml/A-v0", 0.95, 1.2, True), row("mtml/B-v0", None, 1.0, False)],
    ]
    sim, numpy_row = bench.spread_rows(runs)
    assert sim.ratio == (0.95, 0.93, 0.97) and sim.history_cost == (1.2, 1.1, 1.3)
    assert numpy_row.ratio is None and numpy_row.history_cost == (1.2, 1.0, 1.4)
    lines = bench.spread_goal_lines([sim, numpy_row], bench.Spread.of([0.99, 1.02]))
    assert lines[0] == "simulator families >= 0.95 of reference: undecided (mtml/A-v0 0.950 [0.930, 0.970])"
    assert (
        lines[1]
        == "H=16 history on numpy families <= 1.3x: undecided (highest mtml/B-v0 1.200x [1.000, 1.400])"
    )
    assert lines[2] == "SB3 PPO via make_vec_env >= 0.97 of reference: met (1.005 [0.990, 1.020])"


@pytest.mark.slow
def test_processes_measure_in_fresh_processes_and_print_the_spread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bench = load_script("bench_single_envs")
    argv = ["--processes", "2", "--repeats", "1", "--numpy-steps", "200", "--ids", "mtml/CartPole-v0"]
    argv += ["--json", str(tmp_path / "runs.json")]
    assert bench.main([*argv, "--ppo-timesteps", "256", "--ppo-repeats", "1", "--markdown"]) == 0
    processes = json.loads((tmp_path / "runs.json").read_text())["processes"]
    assert [[row["spec_id"] for row in p["rows"]] for p in processes] == [["mtml/CartPole-v0"]] * 2
    assert all(p["ppo"]["ratio"] > 0 for p in processes)
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| mtml/CartPole-v0 | CartPole-v1 |"))
    spreads = re.findall(r"([0-9.]+)x? \[([0-9.]+), ([0-9.]+)\]", row)
    assert len(spreads) == 3, row
    for median, low, high in spreads:
        assert float(low) <= float(median) <= float(high)
    assert "numpy families >= 0.9 of reference:" in out
    assert "of the processes' medians" in out
