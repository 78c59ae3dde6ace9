"""``scripts/reproduce.py`` and ``benchmarks/reproduce.yaml``: the full grid plans every
classic-control spec x six methods x three seeds at the shipped budgets; at a tiny budget
the script runs and prints the README section (scores, gap, budgets, commit, date)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmark_helpers import without
from script_loading import load_script

from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.evaluation import Comparison, ScoreRow
from mtml_rl.benchmark.provenance import Provenance, budgets_markdown
from mtml_rl.benchmark.runner import BenchmarkResult, longest_path_first
from mtml_rl.benchmark.trials import plan_grid, plan_trials
from mtml_rl.evaluation.results import Interval, SuccessAggregate

ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "benchmarks" / "reproduce.yaml"
CLASSIC = [
    "mtml/CartPole-v0",
    "mtml/Pendulum-v0",
    "mtml/MountainCarContinuous-v0",
    "mtml/Acrobot-v0",
    "mtml/PointNav-v0",
]


@pytest.mark.slow
def test_reproduce_grid_covers_every_classic_spec_method_and_seed() -> None:
    config = BenchmarkConfig.from_yaml(GRID)
    assert config.envs == CLASSIC
    assert config.methods == ["dr", "oracle", "adapt", "history", "rl2", "finetune"]
    assert config.seeds == [0, 1, 2]
    assert config.timesteps is None  # the shipped per-family budgets
    trials = plan_trials(config)
    assert len(trials) == 5 * 6 * 3
    assert all(t.config["timesteps"] is None for t in trials)
    assert set(config.evaluation.splits) == {"test-interpolation", "test-extrapolation", "test-combinatorial"}
    assert config.evaluation.episodes % 2 == 0  # whole rl2 trials


@pytest.mark.slow
def test_reproduce_budgets_state_algorithm_and_steps_of_every_family() -> None:
    table = budgets_markdown(plan_trials(BenchmarkConfig.from_yaml(GRID)))
    rows = table.splitlines()[2:]
    assert len(rows) == 5 * 6
    assert re.search(r"^\| Pendulum \| dr \| sac \| [\d,]+ \|$", table, re.M)
    assert re.search(
        r"^\| Pendulum \| rl2 \| recurrent ppo \| [\d,]+ \(trials of 2 episodes\) \|$", table, re.M
    )
    assert re.search(r"^\| CartPole \| adapt \| ppo \| [\d,]+ \+ 30,000 phase-2 steps \|$", table, re.M)
    assert re.search(
        r"^\| MountainCarContinuous \| finetune \| ppo \| [\d,]+ \(`dr`'s run\) \+ 8,192 steps on each "
        r"test task \(5,000 asked, in whole rollouts of 4,096\) \|$",  # 8 slots x 512 steps: SB3's rollouts
        table,
        re.M,
    )


@pytest.mark.slow
def test_reproduce_at_a_tiny_budget_prints_the_readme_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data: dict[str, Any] = yaml.safe_load(GRID.read_text())
    data.update(envs=["mtml/CartPole-v0"], methods=["dr", "oracle", "adapt"], seeds=[0])
    data["train"].update(n_envs=4, hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1})
    data["evaluation"].update(splits=["test-interpolation"], episodes=1, bootstrap_reps=200)
    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump(data))
    reproduce = load_script("reproduce")
    argv = ["--config", str(grid), "--timesteps", "256", "--adapt-timesteps", "128"]
    argv += ["--out", str(tmp_path / "out"), "--quiet"]
    assert reproduce.main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == (tmp_path / "out" / "results_table.md").read_text().strip()
    assert re.search(r"Commit `(\w{10}(-dirty)?|unknown)`, \d{4}-\d\d-\d\d \d\d:\d\d UTC", printed)
    assert "3 trials (1 specs × 3 methods × 1 seeds)" in printed
    for method in ("dr", "oracle", "adapt"):
        assert re.search(rf"\| CartPole \| {method} \| -?\d+\.\d\d \[", printed), method
    assert re.search(r"\| CartPole \| interpolation \| [-\d.]+ \| [-\d.]+ \| [-+\d.]+ \|", printed)
    assert "| CartPole | adapt | ppo | 256 + 128 phase-2 steps |" in printed


@pytest.mark.slow
def test_reproduce_section_shows_success_rates_where_families_define_them(tmp_path: Path) -> None:
    grid = BenchmarkConfig.from_dict(yaml.safe_load(GRID.read_text()), source=str(GRID))
    rate = Interval(0.25, 0.1, 0.4)
    rows = [ScoreRow("PointNav", "dr", "test-interpolation", 3, 16, -50.0, 0.5, 0.4, 0.6)]
    aggregate = SuccessAggregate("PointNav", "test-interpolation", "dr", "all", 3, 16, rate, rate)
    reproduce = load_script("reproduce")
    provenance = Provenance("abcdef0123", "2026-01-01 00:00 UTC", "Linux x86_64, 2 CPU cores")

    def section(success: list[SuccessAggregate]) -> str:
        comparison = Comparison(tmp_path, rows, [], success)
        result = BenchmarkResult(tmp_path, [], [], [], [], comparison)
        return str(reproduce.results_markdown(result, grid, provenance, 60.0))

    with_success = section([aggregate])
    assert "#### Success rate" in with_success
    assert "| PointNav | dr | 0.250 [0.100, 0.400] |" in with_success
    assert "#### Success rate" not in section([])
    assert reproduce.NO_SCORES not in with_success


@pytest.mark.slow
def test_reproduce_section_without_a_reference_says_so_instead_of_empty_tables(tmp_path: Path) -> None:
    grid = BenchmarkConfig.from_dict(yaml.safe_load(GRID.read_text()), source=str(GRID))
    rate = Interval(0.25, 0.1, 0.4)
    aggregate = SuccessAggregate("ML1_reach", "test-interpolation", "rl2", "all", 3, 10, rate, rate)
    reproduce = load_script("reproduce")
    provenance = Provenance("abcdef0123", "2026-01-01 00:00 UTC", "Linux x86_64, 2 CPU cores")
    result = BenchmarkResult(tmp_path, [], [], [], [], Comparison(tmp_path, [], [], [aggregate]))
    section = str(reproduce.results_markdown(result, grid, provenance, 60.0))
    assert reproduce.NO_SCORES in section
    assert "| spec | method |  |" not in section and "dr-to-oracle gap" not in section
    assert "| ML1_reach | rl2 | 0.250 [0.100, 0.400] |" in section


@pytest.mark.slow
def test_reproduce_section_without_dr_and_oracle_says_so_instead_of_an_empty_gap(tmp_path: Path) -> None:
    grid = BenchmarkConfig.from_dict(yaml.safe_load(GRID.read_text()), source=str(GRID))
    rows = [ScoreRow("PointNav", "pearl", "test-interpolation", 3, 16, -79.1, 0.15, 0.08, 0.21)]
    reproduce = load_script("reproduce")
    provenance = Provenance("abcdef0123", "2026-01-01 00:00 UTC", "Linux x86_64, 2 CPU cores")
    result = BenchmarkResult(tmp_path, [], [], [], [], Comparison(tmp_path, rows, [], []))
    section = str(reproduce.results_markdown(result, grid, provenance, 60.0))
    assert "| PointNav | pearl | 0.15 [0.08, 0.21] (R -79.1) |" in section
    assert reproduce.NO_GAP in section and "#### The dr-to-oracle gap per family" not in section


def test_reproduce_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reproduce = load_script("reproduce")
    assert reproduce.main(["--methods", "dr", "orcale", "--out", str(tmp_path)]) == 2
    assert "unknown method 'orcale'; did you mean 'oracle'?" in capsys.readouterr().err


def test_budgets_print_the_grids_budget_table_and_run_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reproduce = load_script("reproduce")
    out = tmp_path / "grid"
    args = ["--config", str(ROOT / "benchmarks" / "reproduce-small.yaml"), "--out", str(out)]
    args += ["--methods", "dr", "finetune"]
    assert reproduce.main([*args, "--budgets"]) == 0
    printed = capsys.readouterr().out
    assert printed == budgets_markdown(plan_trials(reproduce.build_config(reproduce.parse_args(args)))) + "\n"
    assert (  # 1,000 steps asked of clones collecting 8 slots x 512 steps between updates
        "| MountainCarContinuous | finetune | ppo | 50,000 (`dr`'s run) + 4,096 steps on each test "
        "task (1,000 asked, in whole rollouts of 4,096) |"
    ) in printed.splitlines()
    assert not out.exists()


def test_the_shipped_pearl_grid_trains_for_the_shipped_grids_budgets() -> None:
    """``benchmarks/pearl.yaml`` gives pearl the environment steps ``reproduce.yaml`` trains
    ``dr`` with on every continuous-action family, under the same seeds and evaluation."""
    pearl = BenchmarkConfig.from_yaml(ROOT / "benchmarks" / "pearl.yaml")
    shipped = BenchmarkConfig.from_yaml(GRID)
    assert pearl.methods == ["pearl"] and pearl.seeds == shipped.seeds
    assert pearl.evaluation == shipped.evaluation
    dr_steps = {(t.env, t.seed): t.steps for t in plan_trials(shipped) if t.method == "dr"}
    trials = plan_trials(pearl)
    assert {t.env for t in trials} == {
        "mtml/PointNav-v0",
        "mtml/MountainCarContinuous-v0",
        "mtml/Pendulum-v0",
    }
    assert all(t.steps == dr_steps[(t.env, t.seed)] for t in trials)


def test_the_trials_of_two_grid_trains_as_the_shipped_grid_but_for_historys_trial_length() -> None:
    """``benchmarks/trials-pointnav.yaml`` trains PointNav's ``adapt`` and ``history`` in trials
    of two episodes, the length the shipped grid's ``rl2`` trains and deploys with: its ``adapt``
    cells are the shipped grid's (which adopted the length), its ``history`` cells differ from
    the shipped ones (trials of one) in that alone (budgets, seeds, evaluation the same)."""
    shipped = {(t.env, t.method, t.seed): t for t in plan_trials(BenchmarkConfig.from_yaml(GRID))}
    trials = plan_trials(BenchmarkConfig.from_yaml(ROOT / "benchmarks" / "trials-pointnav.yaml"))
    assert sorted({t.method for t in trials}) == ["adapt", "history"]
    assert sorted(t.seed for t in trials if t.method == "adapt") == [0, 1, 2]
    for trial in trials:
        same = shipped[(trial.env, trial.method, trial.seed)]
        assert trial.env == "mtml/PointNav-v0"
        assert (trial.steps, trial.evaluation) == (same.steps, same.evaluation)
        assert (
            trial.config["trial_episodes"]
            == shipped[(trial.env, "rl2", trial.seed)].config["trial_episodes"]
            == 2
        )
        differ = {"out"} if trial.method == "adapt" else {"out", "trial_episodes"}
        assert without(trial.config, differ) == without(same.config, differ)
        assert same.config["trial_episodes"] == (2 if trial.method == "adapt" else 1)


@pytest.mark.parametrize("grid", ["reproduce.yaml", "reproduce-small.yaml"])
def test_both_classic_grids_train_pointnavs_adapt_in_trials_of_two_and_history_in_trials_of_one(
    grid: str,
) -> None:
    """The trial lengths chosen on PointNav's validation draw, in both classic grids: ``adapt``
    (and ``rl2``) in trials of two, ``history`` in trials of one (docs/adaptation.md)."""
    trials = plan_trials(BenchmarkConfig.from_yaml(ROOT / "benchmarks" / grid))
    lengths = {(t.env, t.method): t.config["trial_episodes"] for t in trials}
    pointnav = {method: n for (env, method), n in lengths.items() if env == "mtml/PointNav-v0"}
    assert (pointnav["adapt"], pointnav["rl2"], pointnav["history"]) == (2, 2, 1)
    elsewhere = {n for (env, method), n in lengths.items() if method == "adapt" and env != "mtml/PointNav-v0"}
    assert elsewhere == {1}


@pytest.mark.parametrize("grid", ["reproduce.yaml", "reproduce-small.yaml"])
def test_both_classic_grids_deploy_drs_runs_as_finetune_with_the_chosen_clones(grid: str) -> None:
    """Every ``finetune`` cell deploys ``dr``'s run; each grid fine-tunes the clones with the
    settings chosen for its budget on validation draws (docs/baselines.md), the rest with the
    runs' own."""
    trials = plan_trials(BenchmarkConfig.from_yaml(ROOT / "benchmarks" / grid))
    finetune = {t.env: t for t in trials if t.method == "finetune"}
    assert all(t.trained_by == t.name.replace("finetune", "dr") for t in trials if t.method == "finetune")
    clones = {env: t.config["finetune_hyperparams"] for env, t in finetune.items()}
    chosen = {
        "reproduce-small.yaml": {
            "mtml/PointNav-v0": {"n_steps": 31, "batch_size": 248},
            "mtml/Acrobot-v0": {"n_steps": 7, "batch_size": 112},
        },
        "reproduce.yaml": {
            "mtml/PointNav-v0": {"n_steps": 15, "batch_size": 120},
            "mtml/Acrobot-v0": {"n_steps": 39, "batch_size": 512},
            "mtml/CartPole-v0": {"learning_rate": 0.0001},
        },
    }[grid]
    assert clones == {env: chosen.get(env, {}) for env in clones}


@pytest.mark.parametrize("grid", sorted((ROOT / "benchmarks").glob("*.yaml")), ids=lambda p: p.name)
@pytest.mark.fast_subset(  # a classic, a locomotion and a Meta-World grid
    {"grid": [ROOT / "benchmarks" / f"{name}.yaml" for name in ("example", "locomotion", "metaworld-small")]},
)
def test_every_shipped_grid_plans(grid: Path) -> None:
    """Each grid file in ``benchmarks/`` parses and plans its trials (unknown keys, envs,
    methods or a method a spec refuses would fail here, not hours into a run)."""
    if grid.name.startswith("metaworld") and importlib.util.find_spec("metaworld") is None:
        pytest.skip("the metaworld extra is not installed (pip install 'mtml-rl[metaworld]')")
    config = BenchmarkConfig.from_yaml(grid)
    plan = plan_grid(config)  # every cell planned, or left out because its method does not support it
    cells = len(plan.trials) + len(plan.unsupported) * len(config.seeds)
    assert cells == len(config.envs) * len(config.methods) * len(config.seeds)
    # and ordered as the runner starts them (each trial's cost estimated over the splits it is
    # evaluated on, which a spec may lack: HalfCheetahVel has no combinatorial split)
    assert sorted(t.name for t in longest_path_first(plan.trials)) == sorted(t.name for t in plan.trials)
