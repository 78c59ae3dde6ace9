"""Tuning reads only the train split: its runs train on a copy of the spec without test
splits (the same train tasks), and a whole study never asks for another split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from benchmark_helpers import printed_overrides, without
from gymnasium import spaces
from script_loading import load_script

from mtml_rl.benchmark import tuning
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.tuning import (
    DEFAULTS,
    HISTORY_SPACE,
    SEARCH_SPACES,
    TuneSetup,
    TuningRecord,
    as_overrides,
    grid_protocol,
    search_space,
    train_only,
    trial_config,
    tune,
)
from mtml_rl.errors import ConfigError
from mtml_rl.methods.pearl import KL_WEIGHT_PATH, PearlMethod
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.specs.splits import Splits, build_splits
from mtml_rl.training import Run, TrainConfig
from mtml_rl.training.config import with_fields_added_since
from mtml_rl.training.hyperparams import load_defaults

CARTPOLE = "mtml/CartPole-v0"
REDUCED_GRID = Path(__file__).parents[2] / "benchmarks" / "reproduce-small.yaml"


def test_the_tuning_spec_keeps_the_train_tasks_and_nothing_else() -> None:
    spec = resolve_spec(CARTPOLE)
    only = train_only(spec)
    assert set(build_splits(only)) == {"train"}
    assert build_splits(only)["train"].tasks == build_splits(spec)["train"].tasks
    assert len(build_splits(spec)) > 1  # the original has test splits to leak


def test_history_methods_also_search_their_window() -> None:
    assert search_space(TuneSetup(CARTPOLE, "dr", "ppo", 1, 1)) == SEARCH_SPACES["ppo"]
    history = search_space(TuneSetup(CARTPOLE, "history", "ppo", 1, 1))
    assert set(history) == set(SEARCH_SPACES["ppo"]) | set(HISTORY_SPACE)


@pytest.mark.slow
def test_a_study_reads_only_the_train_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[str] = []
    original = Splits.__getitem__

    def recording(self: Splits, name: str):  # type: ignore[no-untyped-def]
        asked.append(name)
        return original(self, name)

    monkeypatch.setattr(Splits, "__getitem__", recording)
    trained: list[set[str]] = []
    real_train = tuning.train

    def train(config: TrainConfig, **kwargs: Any) -> Run:
        trained.append(set(build_splits(resolve_spec(config.env))))
        assert config.eval_freq == 0  # periodic evaluation would play every split
        return real_train(config, **kwargs)

    monkeypatch.setattr(tuning, "train", train)
    setup = TuneSetup(CARTPOLE, "history", "ppo", trials=2, timesteps=256, seeds=(0,))
    record = tune(setup, log=lambda _: None)
    assert asked and set(asked) == {"train"}
    assert trained == [{"train"}, {"train"}]  # each run's spec has no test split to read
    assert len(record.trials) == 2 and record.best in [t["values"] for t in record.trials]
    assert set(record.best) == set(SEARCH_SPACES["ppo"]) | set(HISTORY_SPACE)
    path = tmp_path / "record.yaml"
    record.write(path)
    written = yaml.safe_load(path.read_text())
    assert written["setup"]["method"] == "history" and written["best"] == record.best
    assert written["space"] == {**SEARCH_SPACES["ppo"], **HISTORY_SPACE}


@pytest.mark.slow  # four trainings
def test_a_scored_run_is_deleted_before_the_next_one_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    """The study keeps scores, not runs: a killed study (SIGKILL skips the cleanup of its
    temporary folder) leaves behind at most the run it was training."""
    earlier: list[Path] = []
    real_train = tuning.train

    def train(config: TrainConfig, **kwargs: Any) -> Run:
        assert not any(p.exists() for p in earlier)
        run = real_train(config, **kwargs)
        earlier.append(run.path)
        return run

    monkeypatch.setattr(tuning, "train", train)
    tune(TuneSetup(CARTPOLE, "dr", "ppo", trials=2, timesteps=256, seeds=(0, 1)), log=lambda _: None)
    assert len(earlier) == 4 and not any(p.exists() for p in earlier)


def test_a_method_adds_its_own_hyperparameters_to_the_space() -> None:
    space = search_space(TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 1))
    assert space == {**SEARCH_SPACES["sac"], **HISTORY_SPACE, KL_WEIGHT_PATH: {"log": [1e-3, 3e-1]}}


def test_drawn_values_reach_the_config_fields_and_the_nested_hyperparameters(tmp_path: Path) -> None:
    setup = TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 500)
    values = {"learning_rate": 3e-4, "net_arch": (64, 64), "history_len": 8, KL_WEIGHT_PATH: 0.02}
    config = trial_config(setup, tmp_path / "spec.yaml", values, seed=3, out=tmp_path / "run")
    assert config.history_len == 8 and config.seed == 3 and config.timesteps == 500
    assert config.hyperparams == {
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": [64, 64], "features_extractor_kwargs": {"kl_weight": 0.02}},
    }
    spec = config.resolved_method().policy(config, spaces.Box(-1, 1, (3,)), {})
    assert spec.kwargs["features_extractor_kwargs"]["kl_weight"] == 0.02
    assert spec.kwargs["net_arch"] == [64, 64]


def test_a_method_may_not_search_what_the_study_fixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PearlMethod, "tuning_space", lambda self, config: {"timesteps": {"choice": [1, 2]}})
    with pytest.raises(ConfigError, match=r"timesteps.*same budget"):
        search_space(TuneSetup("mtml/Pendulum-v0", "pearl", "sac", 1, 1))


def _fake_score(config: TrainConfig, episodes: int) -> float:
    """A score that depends on the drawn values (no training)."""
    lr = config.hyperparams["learning_rate"]
    return -abs(np.log10(lr) + 3.0) - config.hyperparams["n_epochs"] / 100 + config.seed


def _study(tmp_path: Path, trials: int) -> TuneSetup:
    return TuneSetup(CARTPOLE, "dr", "ppo", trials=trials, timesteps=64, seeds=(0, 1))


@pytest.mark.slow
def test_a_resumed_study_chooses_what_it_would_have_chosen_in_one_go(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tuning, "score", _fake_score)
    whole = tune(_study(tmp_path, 12), tmp_path / "whole.yaml", log=lambda _: None)

    calls = {"n": 0}

    def crashing(config: TrainConfig, episodes: int) -> float:
        calls["n"] += 1
        if calls["n"] == 2 * 7 + 1:  # the first run of trial 7
            raise KeyboardInterrupt
        return _fake_score(config, episodes)

    monkeypatch.setattr(tuning, "score", crashing)
    out = tmp_path / "resumed.yaml"
    with pytest.raises(KeyboardInterrupt):
        tune(_study(tmp_path, 12), out, log=lambda _: None)
    assert len(yaml.safe_load(out.read_text())["trials"]) == 7  # each finished trial was written
    monkeypatch.setattr(tuning, "score", _fake_score)
    partial = tune(_study(tmp_path, 9), out, log=lambda _: None)  # a smaller study, resumed
    assert len(partial.trials) == 9
    resumed = tune(_study(tmp_path, 12), out, log=lambda _: None)  # extended to the whole study
    assert resumed.trials == whole.trials and resumed.best == whole.best
    assert (
        yaml.safe_load(out.read_text())["trials"]
        == yaml.safe_load((tmp_path / "whole.yaml").read_text())["trials"]
    )
    assert len({str(t["values"]) for t in whole.trials}) == 12  # TPE drew a new point every trial


def test_a_record_of_another_study_or_a_damaged_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = _two_trial_study(monkeypatch, tmp_path)
    good = out.read_text()
    other = TuneSetup(CARTPOLE, "dr", "ppo", trials=3, timesteps=128, seeds=(0, 1))
    with pytest.raises(ConfigError, match=r"another setup \(differs in timesteps\).*delete"):
        tune(other, out, log=lambda _: None)
    data = yaml.safe_load(good)
    data["trials"][1]["params"]["n_epochs"] = (data["trials"][1]["params"]["n_epochs"] + 1) % 3
    out.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="trial 1's values do not match its params"):
        tune(_study(tmp_path, 3), out, log=lambda _: None)
    out.write_text(good[: len(good) // 2] + "\n  - [")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        tune(_study(tmp_path, 3), out, log=lambda _: None)
    assert out.read_text() == good[: len(good) // 2] + "\n  - ["  # nothing was overwritten


def test_a_record_written_by_a_newer_format_is_refused_and_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = _two_trial_study(monkeypatch, tmp_path)
    data = yaml.safe_load(out.read_text())
    assert data["version"] == tuning.RECORD_VERSION == 2 and set(data) == tuning.RECORD_FIELDS
    for change, message in [
        ({"version": 3}, r"format version 3, and this mtml-rl reads up to 2.*resume it with the mtml-rl"),
        ({"seeds_per_worker": 1}, r"fields this mtml-rl does not know \(seeds_per_worker\), which resuming"),
        ({"version": "one"}, r"format version 'one' is not a positive integer.*delete"),
    ]:
        newer = yaml.safe_dump({**data, **change}, sort_keys=False)
        out.write_text(newer)
        with pytest.raises(ConfigError, match=message):
            tune(_study(tmp_path, 3), out, log=lambda _: None)
        assert out.read_text() == newer  # nothing was dropped or overwritten
    del data["version"], data["confirmation"]  # a record from before versioned records is version 1
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    assert len(tune(_study(tmp_path, 3), out, log=lambda _: None).trials) == 3
    assert yaml.safe_load(out.read_text())["version"] == 2  # written back in this format


def _two_trial_study(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The record of a finished two-trial study (scored by :func:`_fake_score`)."""
    monkeypatch.setattr(tuning, "score", _fake_score)
    out = tmp_path / "study.yaml"
    tune(_study(tmp_path, 2), out, log=lambda _: None)
    return out


def test_a_study_can_train_as_a_grid_trains_the_method(tmp_path: Path) -> None:
    grid = BenchmarkConfig.from_yaml(REDUCED_GRID)
    algo, timesteps, fixed = grid_protocol(grid, "mtml/PointNav-v0", "adapt")
    assert (algo, timesteps) == ("ppo", 50_000)
    assert fixed["adapt_timesteps"] == 20_000 and fixed["adapt_probe_steps"] == 40
    algo, timesteps, fixed = grid_protocol(grid, "mtml/Pendulum-v0", "history")
    assert (algo, timesteps) == ("sac", 10_000)
    setup = TuneSetup(
        "mtml/Pendulum-v0", "history", algo, 1, timesteps, fixed={**fixed, "hyperparams": {"tau": 0.01}}
    )
    config = trial_config(
        setup, tmp_path / "spec.yaml", {"learning_rate": 1e-3}, seed=4, out=tmp_path / "run"
    )
    assert config.hyperparams == {"tau": 0.01, "learning_rate": 1e-3} and config.timesteps == 10_000
    with pytest.raises(ConfigError, match="does not train on mtml/HalfCheetahVel-v0"):
        grid_protocol(grid, "mtml/HalfCheetahVel-v0", "adapt")
    with pytest.raises(ConfigError, match="cannot fix seed"):
        tune(TuneSetup(CARTPOLE, "dr", "ppo", 1, 64, fixed={"seed": 3}), tmp_path / "s.yaml")


def test_the_script_resumes_a_study_and_prints_the_choice_as_grid_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tuning, "score", _fake_score)
    script = load_script("tune")
    out = tmp_path / "study.yaml"
    args = ["--env", CARTPOLE, "--method", "history", "--timesteps", "64", "--trials", "3", "--out", str(out)]
    assert script.main(args) == 0
    record = yaml.safe_load(out.read_text())
    printed = printed_overrides(capsys.readouterr().out)
    assert printed == {"history": as_overrides(record["best"])}
    assert set(printed["history"]) == {"history_len", "latent_dim", "hyperparams"}
    assert printed["history"]["hyperparams"]["policy_kwargs"] == {"net_arch": record["best"]["net_arch"]}
    assert script.main([*args[:-4], "--trials", "4", "--out", str(out)]) == 0  # extended by one trial
    assert [t["number"] for t in yaml.safe_load(out.read_text())["trials"]] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", str(REDUCED_GRID), "--method", "pearl"], "does not train pearl"),
        (["--method", "dr"], "give --timesteps"),
        (["--method", "dr", "--timesteps", "0"], "must be positive"),
        (["--grid", str(REDUCED_GRID), "--method", "adapt", "--timesteps", "0"], "must be positive"),
    ],
)
def test_the_script_refuses_bad_input_with_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = load_script("tune").main(["--env", "mtml/PointNav-v0", "--out", str(tmp_path / "r.yaml"), *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r.yaml").exists()


def test_the_default_values_are_scored_once_with_the_same_seeds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scored: list[TrainConfig] = []

    def recording(config: TrainConfig, episodes: int) -> float:
        scored.append(config)
        return float(config.seed) + config.hyperparams.get("learning_rate", 0.0)

    monkeypatch.setattr(tuning, "score", recording)
    out = tmp_path / "study.yaml"
    record = tune(_study(tmp_path, 2), out, log=lambda _: None, score_defaults=True)
    defaults = [c for c in scored if "learning_rate" not in c.hyperparams]
    assert [c.seed for c in defaults] == [0, 1] and all(c.history_len == 16 for c in defaults)
    assert record.defaults == {"score": 0.5, "per_seed": [0.0, 1.0]}
    assert yaml.safe_load(out.read_text())["defaults"] == record.defaults
    scored.clear()
    again = tune(_study(tmp_path, 3), out, log=lambda _: None, score_defaults=True)
    assert len(scored) == 2 and again.defaults == record.defaults  # one new trial, defaults kept
    assert not again.defaults_win() and again.chosen() == again.best  # every trial beat them


def test_defaults_that_score_above_every_trial_are_the_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def defaults_best(config: TrainConfig, episodes: int) -> float:
        return 100.0 if "learning_rate" not in config.hyperparams else -config.hyperparams["learning_rate"]

    monkeypatch.setattr(tuning, "score", defaults_best)
    out = tmp_path / "study.yaml"
    args = ["--env", CARTPOLE, "--method", "history", "--timesteps", "64", "--trials", "2", "--out", str(out)]
    assert load_script("tune").main([*args, "--score-defaults"]) == 0
    printed = capsys.readouterr().out
    assert "score above every trial" in printed
    assert printed_overrides(printed) == {"history": {}}
    record = yaml.safe_load(out.read_text())
    assert record["defaults"]["score"] == 100.0 > record["best_score"]  # the best trial stays on record
    # without the defaults scored, the best trial is the choice
    assert load_script("tune").main([*args[:-1], str(tmp_path / "other.yaml")]) == 0
    assert printed_overrides(capsys.readouterr().out)["history"]


def study_record(spec: str, method: str, algo: str) -> tuple[dict[str, Any], TuningRecord]:
    """A study on record in ``tuning/``: its YAML and the record resumed from it (which
    verifies every trial)."""
    path = REDUCED_GRID.parents[1] / "tuning" / f"{spec}-{method}-{algo}.yaml"
    record = yaml.safe_load(path.read_text())
    setup = TuneSetup(**{**record["setup"], "seeds": tuple(record["setup"]["seeds"])})
    return record, TuningRecord.resume(path, setup, search_space(setup))


TUNED_GRID = REDUCED_GRID.parent / "tuned-pointnav-small.yaml"
EQUAL_STEPS_GRID = REDUCED_GRID.parent / "equal-steps-pointnav-small.yaml"
TUNED_GRIDS = {
    "PointNav": TUNED_GRID,
    "Pendulum": REDUCED_GRID.parent / "tuned-pendulum-small.yaml",
    "MountainCarContinuous": REDUCED_GRID.parent / "tuned-mountaincarcontinuous-small.yaml",
    "CartPole": REDUCED_GRID.parent / "tuned-cartpole-small.yaml",
}


TUNED_PEARL_GRID = REDUCED_GRID.parent / "tuned-pearl-pendulum-small.yaml"
PEARL_GRID = REDUCED_GRID.parent / "pearl-small.yaml"


@pytest.mark.parametrize("spec", sorted(TUNED_GRIDS))
def test_the_tuned_grid_trains_with_what_each_study_chose_under_the_reduced_grids_protocol(
    spec: str,
) -> None:
    assert_trains_as_studied(TUNED_GRIDS[spec], REDUCED_GRID, spec, ["adapt", "history", "rl2"])


def test_the_tuned_pearl_grid_trains_with_what_its_study_chose_under_the_pearl_grids_protocol() -> None:
    """``pearl``'s Pendulum study had the tuning budget of the three above on Pendulum, under the
    protocol of the grid that trains ``pearl`` at the reduced budgets."""
    assert_trains_as_studied(TUNED_PEARL_GRID, PEARL_GRID, "Pendulum", ["pearl"])


def assert_trains_as_studied(tuned_path: Path, grid_path: Path, spec: str, methods: list[str]) -> None:
    """The tuned grid trains ``methods`` on ``spec`` as ``grid_path`` does, but for the values
    each study on record chose (20 trials, training seed 10, which no grid run uses), and
    evaluates as it does."""
    tuned = BenchmarkConfig.from_yaml(tuned_path)
    grid = BenchmarkConfig.from_yaml(grid_path)
    env = f"mtml/{spec}-v0"
    assert tuned.envs == [env] and set(tuned.seeds).isdisjoint({10})
    assert tuned.evaluation == grid.evaluation and tuned.seeds == grid.seeds
    assert sorted(tuned.methods) == methods
    for method in tuned.methods:
        algo, timesteps, fixed = grid_protocol(grid, env, method)
        record, resumed = study_record(spec, method, algo)
        assert resumed.best == record["best"] and resumed.defaults == record["defaults"]
        assert record["setup"]["seeds"] == [10] and len(record["trials"]) == record["setup"]["trials"] == 20
        assert len(record["defaults"]["per_seed"]) == 1  # what tuning gained is on record
        if record.get("confirmation"):  # confirmed with seeds no grid run trains with
            assert set(record["confirmation"]["seeds"]).isdisjoint({*tuned.seeds, 10})
            assert resumed.confirmed() and DEFAULTS in resumed.candidates(record["confirmation"]["top"])
        chosen = as_overrides(resumed.chosen())  # the defaults where they beat every trial
        entry = tuned.method_overrides[method]
        assert {name: entry[name] for name in chosen} == chosen
        assert (record["setup"]["env"], record["setup"]["method"]) == (env, method)
        assert (record["setup"]["algo"], record["setup"]["timesteps"]) == (algo, timesteps)
        protocol = {k: v for k, v in fixed.items() if k not in record["space"]}
        recorded = with_fields_added_since(record["setup"]["fixed"], protocol)
        assert without(recorded, LATER) == without(protocol, LATER)
        # the tuned grid trains as the grid does, but for the chosen values and with
        # the study's trial length
        tuned_algo, tuned_steps, tuned_fixed = grid_protocol(tuned, env, method)
        assert (tuned_algo, tuned_steps) == (algo, timesteps)
        assert without(tuned_fixed, {*chosen, *LATER}) == without(fixed, {*chosen, *LATER})
        assert tuned_fixed["trial_episodes"] == recorded["trial_episodes"]


LATER = {"trial_episodes"}
"""Protocol the grids changed after the studies ran: PointNav's ``adapt`` took trials of two
episodes; a study, and the grids that retrain its choices, keep the length it ran with."""


SHIPPED_GRID = REDUCED_GRID.parent / "reproduce.yaml"


def test_the_shipped_budget_tuned_grid_trains_as_the_shipped_grid_but_for_the_studies_choices() -> None:
    shipped = BenchmarkConfig.from_yaml(SHIPPED_GRID)
    tuned = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "tuned-pointnav.yaml")
    env = "mtml/PointNav-v0"
    assert tuned.envs == [env] and tuned.seeds == shipped.seeds
    assert tuned.evaluation == shipped.evaluation and tuned.timesteps is shipped.timesteps is None
    assert sorted(tuned.methods) == ["adapt", "history", "rl2"]
    for method in tuned.methods:
        algo, timesteps, fixed = grid_protocol(shipped, env, method)
        record, resumed = study_record("PointNav", method, algo)
        chosen = as_overrides(resumed.chosen())
        assert chosen, f"the {method} study chose values: the tuned grid trains with them"
        tuned_algo, tuned_steps, tuned_fixed = grid_protocol(tuned, env, method)
        assert (tuned_algo, tuned_steps) == (algo, timesteps)  # the shipped budget, not the study's
        assert {name: tuned_fixed[name] for name in chosen} == chosen
        assert tuned_fixed["trial_episodes"] == record["setup"]["fixed"]["trial_episodes"]
        assert without(tuned_fixed, {*chosen, *LATER}) == without(fixed, {*chosen, *LATER})


EQUAL_STEPS_GRIDS = {
    "PointNav": (EQUAL_STEPS_GRID, 70_000),
    "Pendulum": (REDUCED_GRID.parent / "equal-steps-pendulum-small.yaml", 30_000),
}


@pytest.mark.parametrize("spec", sorted(EQUAL_STEPS_GRIDS))
def test_the_equal_steps_grid_trains_the_tuned_baselines_for_adapts_total_steps(spec: str) -> None:
    grid, total = EQUAL_STEPS_GRIDS[spec]
    env = f"mtml/{spec}-v0"
    equal = BenchmarkConfig.from_yaml(grid)
    tuned = BenchmarkConfig.from_yaml(TUNED_GRIDS[spec])
    adapt_steps = grid_protocol(tuned, env, "adapt")[1]
    adapt_total = adapt_steps + tuned.train["adapt_timesteps"]
    assert (equal.envs, equal.seeds, equal.evaluation) == (tuned.envs, tuned.seeds, tuned.evaluation)
    assert sorted(equal.methods) == ["history", "rl2"]
    for method in equal.methods:
        algo, timesteps, fixed = grid_protocol(equal, env, method)
        tuned_algo, _, tuned_fixed = grid_protocol(tuned, env, method)
        assert (algo, timesteps) == (tuned_algo, adapt_total) == (algo, total)
        assert _not_adapts(fixed) == _not_adapts(tuned_fixed)  # the same values and protocol


def _not_adapts(fixed: dict[str, Any]) -> dict[str, Any]:
    """``fixed`` without ``adapt``'s own fields (phase 2 and probe: unused by other methods)."""
    return {name: value for name, value in fixed.items() if not name.startswith("adapt_")}


def test_the_equal_steps_grid_gives_history_and_rl2_adapts_total_steps() -> None:
    equal = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "equal-steps-small.yaml")
    reduced = BenchmarkConfig.from_yaml(REDUCED_GRID)
    assert (equal.seeds, equal.evaluation) == (reduced.seeds, reduced.evaluation)
    for env in equal.envs:
        adapt_steps = grid_protocol(reduced, env, "adapt")[1] + reduced.train["adapt_timesteps"]
        history, reduced_history = (
            grid_protocol(equal, env, "history"),
            grid_protocol(reduced, env, "history"),
        )
        assert history[:2] == (reduced_history[0], adapt_steps)
        assert _not_adapts(history[2]) == _not_adapts(reduced_history[2])
        rl2 = grid_protocol(equal, env, "rl2")
        assert rl2[:2] == ("ppo", adapt_steps)
        assert _not_adapts(rl2[2]) == _not_adapts(grid_protocol(reduced, env, "rl2")[2])


def test_the_locomotion_equal_steps_grid_gives_history_and_rl2_adapts_total_steps() -> None:
    equal = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "equal-steps-locomotion-small.yaml")
    locomotion = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "locomotion-small.yaml")
    assert (equal.envs, equal.seeds) == (locomotion.envs, locomotion.seeds)
    ours, theirs = equal.evaluation, locomotion.evaluation
    assert (ours.splits, ours.seed, ours.deterministic) == (theirs.splits, theirs.seed, theirs.deterministic)
    for env in equal.envs:
        adapt_algo, adapt_steps, adapt_fixed = grid_protocol(locomotion, env, "adapt")
        assert adapt_steps is not None
        for method in equal.methods:
            algo, timesteps, fixed = grid_protocol(equal, env, method)
            assert (algo, timesteps) == (adapt_algo, adapt_steps + adapt_fixed["adapt_timesteps"])
            assert ours.episodes % fixed["trial_episodes"] == 0  # whole trials of every method
            shared = ("n_envs", "hyperparams", "profile", "latent_dim", "history_len", "history_arch")
            assert {k: fixed[k] for k in shared} == {k: adapt_fixed[k] for k in shared}


def test_the_pearl_equal_steps_grid_gives_pearl_adapts_total_steps() -> None:
    equal = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "equal-steps-pearl-small.yaml")
    pearl = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "pearl-small.yaml")
    reduced = BenchmarkConfig.from_yaml(REDUCED_GRID)
    assert sorted(equal.envs) == sorted(pearl.envs)
    assert (equal.seeds, equal.evaluation) == (pearl.seeds, pearl.evaluation)
    assert (equal.seeds, equal.evaluation) == (reduced.seeds, reduced.evaluation)
    for env in equal.envs:
        adapt_total = grid_protocol(reduced, env, "adapt")[1] + reduced.train["adapt_timesteps"]
        algo, timesteps, fixed = grid_protocol(equal, env, "pearl")
        pearl_algo, pearl_steps, pearl_fixed = grid_protocol(pearl, env, "pearl")
        assert (algo, timesteps) == (pearl_algo, adapt_total) == ("sac", adapt_total)
        assert timesteps > pearl_steps  # more than pearl-small's budget: adapt's total
        assert fixed == pearl_fixed  # the same values and protocol, only the budget differs


def test_the_acrobot_grid_trains_at_the_shipped_budget_and_the_baselines_at_adapts_total() -> None:
    acrobot = BenchmarkConfig.from_yaml(REDUCED_GRID.parent / "acrobot-500k.yaml")
    reduced = BenchmarkConfig.from_yaml(REDUCED_GRID)
    env = "mtml/Acrobot-v0"
    assert acrobot.envs == [env]
    assert (acrobot.seeds, acrobot.evaluation) == (reduced.seeds, reduced.evaluation)
    shipped = load_defaults("ppo", "acrobot", "default")["n_timesteps"]
    adapt_algo, adapt_steps, adapt_fixed = grid_protocol(acrobot, env, "adapt")
    assert adapt_steps == shipped
    for method in ("dr", "oracle"):
        algo, timesteps, fixed = grid_protocol(acrobot, env, method)
        assert (algo, timesteps) == ("ppo", shipped)
        assert _not_adapts(fixed) == _not_adapts(adapt_fixed)
    for method in ("history", "rl2"):
        algo, timesteps, fixed = grid_protocol(acrobot, env, method)
        assert (algo, timesteps) == (adapt_algo, shipped + adapt_fixed["adapt_timesteps"])
        assert {k: fixed[k] for k in ("hyperparams", "profile", "n_envs")} == {
            k: grid_protocol(reduced, env, method)[2][k] for k in ("hyperparams", "profile", "n_envs")
        }  # the shipped values, as the reduced grid trains them
