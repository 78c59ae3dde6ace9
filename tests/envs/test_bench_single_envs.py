"""``scripts/bench_single_envs.py`` runs at a tiny budget and prints its table, the PPO line
and the goals, with every ratio measured against a reference of the same run."""

from __future__ import annotations

import importlib.util

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
