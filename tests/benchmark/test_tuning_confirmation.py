"""A study's confirmation: the best trials of a one-seed screen and the scored defaults train
again with new seeds, and the choice is the best candidate over all its seeds; it resumes
where it stopped and refuses records it cannot extend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from benchmark_helpers import printed_overrides
from script_loading import load_script

from mtml_rl.benchmark import tuning
from mtml_rl.benchmark.tuning import DEFAULTS, Confirmation, TuneSetup, as_overrides, tune
from mtml_rl.errors import ConfigError
from mtml_rl.training import TrainConfig

CARTPOLE = "mtml/CartPole-v0"
CONFIRM = Confirmation(seeds=(11, 12), top=3)


def luck(values: dict[str, Any], seed: int) -> float:
    """Values with 20 epochs are lucky on the screen's seed 0 and unlucky on every other seed;
    the defaults (no drawn values) score -5 on every seed."""
    if not values:
        return -5.0
    base = -abs(float(np.log10(values["learning_rate"])) + 3.0)
    if values["n_epochs"] == 20:
        return base + (100.0 if seed == 0 else -200.0)
    return base


def lucky_screen(config: TrainConfig, episodes: int) -> float:
    """:func:`luck` of a run's drawn values and seed (no training)."""
    drawn = {k: config.hyperparams[k] for k in ("learning_rate", "n_epochs") if k in config.hyperparams}
    return luck(drawn, config.seed)


def study(trials: int = 8) -> TuneSetup:
    return TuneSetup(CARTPOLE, "dr", "ppo", trials=trials, timesteps=64, seeds=(0,))


def test_the_best_candidate_over_all_seeds_is_chosen_not_the_luckiest_screen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trained: list[tuple[str, int]] = []

    def recording(config: TrainConfig, episodes: int) -> float:
        trained.append((Path(config.out).name, config.seed))
        return lucky_screen(config, episodes)

    monkeypatch.setattr(tuning, "score", recording)
    out = tmp_path / "study.yaml"
    record = tune(study(), out, log=lambda _: None, score_defaults=True, confirm=CONFIRM)
    screened = {t["number"]: t for t in record.trials}
    top = sorted(screened, key=lambda n: (-screened[n]["score"], n))[:3]
    assert record.candidates(3) == [*top, DEFAULTS]
    confirmed = [name for name, _ in trained if "confirm" in name]
    names = [*[f"t{t}" for t in top], DEFAULTS]
    assert confirmed == [f"{n}-confirm-s{seed}" for n in names for seed in (11, 12)]
    assert [seed for name, seed in trained if "confirm" in name] == [11, 12] * 4
    expected = {}
    for candidate in [*top, DEFAULTS]:
        values = {} if candidate == DEFAULTS else screened[candidate]["values"]
        expected[candidate] = np.mean([luck(values, s) for s in (0, 11, 12)])
    choice = max(expected, key=lambda c: expected[c])
    assert record.chosen_candidate() == choice
    assert screened[top[0]]["values"]["n_epochs"] == 20  # the screen's best was the lucky one ...
    assert choice != top[0] and record.best == screened[top[0]]["values"]  # ... and is not chosen
    assert record.chosen() == ({} if choice == DEFAULTS else screened[choice]["values"])
    written = yaml.safe_load(out.read_text())
    assert written["version"] == tuning.RECORD_VERSION == 2
    assert written["confirmation"]["seeds"] == [11, 12] and written["confirmation"]["top"] == 3
    scores = {c["candidate"]: c["score"] for c in written["confirmation"]["candidates"]}
    assert scores == pytest.approx(expected)


def test_an_interrupted_confirmation_goes_on_where_it_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tuning, "score", lucky_screen)
    whole = tune(study(), tmp_path / "whole.yaml", log=lambda _: None, score_defaults=True, confirm=CONFIRM)
    runs = {"n": 0}

    def crashing(config: TrainConfig, episodes: int) -> float:
        runs["n"] += 1
        if runs["n"] == 8 + 1 + 5:  # 8 trials and the defaults, then the third candidate's second seed
            raise KeyboardInterrupt
        return lucky_screen(config, episodes)

    monkeypatch.setattr(tuning, "score", crashing)
    out = tmp_path / "resumed.yaml"
    with pytest.raises(KeyboardInterrupt):
        tune(study(), out, log=lambda _: None, score_defaults=True, confirm=CONFIRM)
    assert len(yaml.safe_load(out.read_text())["confirmation"]["candidates"]) == 2  # each one written
    with pytest.raises(
        ConfigError, match=r"confirmation is unfinished.*with its --confirm-top and --confirm-seeds"
    ):
        tuning.TuningRecord.resume(out, study(), tuning.search_space(study())).chosen()
    runs["n"] = 100
    again = tune(study(), out, log=lambda _: None, score_defaults=True, confirm=CONFIRM)
    assert runs["n"] == 100 + 2 * 2  # the two unconfirmed candidates only
    assert again.confirmation == whole.confirmation and again.chosen() == whole.chosen()
    assert yaml.safe_load(out.read_text()) == yaml.safe_load((tmp_path / "whole.yaml").read_text())


def test_a_confirmation_with_other_seeds_or_a_malformed_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tuning, "score", lucky_screen)
    with pytest.raises(ConfigError, match=r"must be new ones.*already trains seed 0"):
        tune(study(2), tmp_path / "a.yaml", confirm=Confirmation((0, 11), 2))
    with pytest.raises(ConfigError, match="must be new ones, each once"):
        tune(study(2), tmp_path / "a.yaml", confirm=Confirmation((11, 11), 2))
    assert not (tmp_path / "a.yaml").exists()
    out = tmp_path / "study.yaml"
    tune(study(3), out, log=lambda _: None, confirm=Confirmation((11,), 2))
    good = out.read_text()
    with pytest.raises(ConfigError, match=r"confirmed with seeds \[11\], not \[12\]; pass the same"):
        tune(study(3), out, log=lambda _: None, confirm=Confirmation((12,), 2))
    assert out.read_text() == good
    data = yaml.safe_load(good)
    for broken in [
        {"seeds": [0], "top": 2},
        {"top": 0},
        {"candidates": [{"candidate": 7, "per_seed": [1.0]}]},
    ]:
        out.write_text(yaml.safe_dump({**data, "confirmation": {**data["confirmation"], **broken}}))
        with pytest.raises(ConfigError, match="cannot be resumed: its confirmation"):
            tune(study(3), out, log=lambda _: None)
    # a study extended after its confirmation confirms its new candidates when asked again
    out.write_text(good)
    extended = tune(study(6), out, log=lambda _: None, confirm=Confirmation((11,), 2))
    assert {c["candidate"] for c in extended.confirmed()} == set(extended.candidates(2))


def test_the_script_confirms_and_prints_the_confirmed_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tuning, "score", lucky_screen)
    script = load_script("tune")
    out = tmp_path / "study.yaml"
    args = ["--env", CARTPOLE, "--method", "dr", "--timesteps", "64", "--trials", "8", "--seeds", "0"]
    assert script.main([*args, "--out", str(out), "--confirm-top", "2"]) == 2
    assert "needs both --confirm-top K (K >= 1) and --confirm-seeds" in capsys.readouterr().err
    assert not out.exists()
    assert script.main([*args, "--out", str(out), "--confirm-top", "3", "--confirm-seeds", "11", "12"]) == 0
    printed = capsys.readouterr().out
    record = tuning.TuningRecord.resume(out, study(), tuning.search_space(study()))
    assert printed.count("candidate trial") == 3 and "candidate defaults" not in printed
    entry = printed_overrides(printed)
    assert entry == {"dr": as_overrides(record.chosen())} and record.chosen() != record.best
    assert "the choice is trial" in printed and "score above every" not in printed


def test_a_record_names_the_cpu_kernels_its_runs_were_computed_with(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tuning, "score", lucky_screen)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    out = tmp_path / "study.yaml"
    tune(study(2), out, log=lambda _: None)
    native = yaml.safe_load(out.read_text())["cpu_kernels"]
    assert len(native) == 1 and native[0].endswith("oneDNN cap default")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    tune(study(3), out, log=lambda _: None)  # resumed under other kernels: both named
    assert yaml.safe_load(out.read_text())["cpu_kernels"] == [
        native[0],
        native[0].split(",")[0] + ", oneDNN cap AVX2",
    ]
    data = yaml.safe_load(out.read_text())
    del data["cpu_kernels"], data["confirmation"]
    data["version"] = 1
    out.write_text(yaml.safe_dump(data))  # a record from before kernels were recorded
    assert tune(study(3), out, log=lambda _: None).cpu_kernels[0] == "not recorded"


def test_confirmed_defaults_are_printed_as_the_choice_with_an_empty_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def defaults_best(config: TrainConfig, episodes: int) -> float:
        return 100.0 if "learning_rate" not in config.hyperparams else float(config.seed)

    monkeypatch.setattr(tuning, "score", defaults_best)
    args = ["--env", CARTPOLE, "--method", "dr", "--timesteps", "64", "--trials", "3", "--seeds", "0"]
    out = [
        "--out",
        str(tmp_path / "study.yaml"),
        "--score-defaults",
        "--confirm-top",
        "2",
        "--confirm-seeds",
        "5",
    ]
    assert load_script("tune").main([*args, *out]) == 0
    printed = capsys.readouterr().out
    assert "the default values score above every confirmed trial over all seeds" in printed
    assert printed_overrides(printed) == {"dr": {}}
