"""The history encoder's width in phase 2 and in the scripts that compare encoders: ``ARCH``
or ``ARCH:WIDTH`` names, a module trained and saved at the width asked for, and a bad name
refused by the scripts with argparse's status 2."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from adaptation_helpers import TinyRun
from script_loading import load_script
from torch import nn

from mtml_rl.adaptation.module import AdaptationModule
from mtml_rl.adaptation.orchestration import phase2_config
from mtml_rl.adaptation.phase2 import Phase2Config, train_adaptation
from mtml_rl.policies.history import DEFAULT_HIDDEN, parse_encoder


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("conv", ("conv", DEFAULT_HIDDEN)),
        ("conv:32", ("conv", 32)),
        ("mlp:8", ("mlp", 8)),
        ("gru", ("gru", DEFAULT_HIDDEN)),
    ],
)
def test_encoder_names(name: str, expected: tuple[str, int]) -> None:
    assert parse_encoder(name) == expected


@pytest.mark.parametrize("name", ["lstm", "conv:", "conv:0", "conv:-4", "conv:x", "conv:32:1", ":32"])
def test_a_bad_encoder_name_says_what_is_expected(name: str) -> None:
    with pytest.raises(ValueError, match=r"expected ARCH or ARCH:WIDTH .* \(conv:32\)"):
        parse_encoder(name)


def test_phase2_defaults_to_the_encoders_default_width() -> None:
    assert Phase2Config(timesteps=1, n_envs=1).hidden == DEFAULT_HIDDEN == 64


def _channels(module: AdaptationModule) -> list[int]:
    return [layer.out_channels for layer in module.modules() if isinstance(layer, nn.Conv1d)]


@pytest.mark.slow  # a tiny run (shared), then a 512-step phase 2
def test_phase2_trains_and_saves_a_module_of_the_width_asked_for(tiny_run: TinyRun, tmp_path: Path) -> None:
    run = tiny_run("adapt")
    cfg = dataclasses.replace(
        phase2_config(run, 8), arch="conv", hidden=16, timesteps=512, iterations=1, epochs=1
    )
    module = train_adaptation(run.model, run.normalizer, run.spec, cfg, lambda step, metrics: None)
    assert _channels(module) == [16, 16]
    module.save(tmp_path / "module.pt")
    assert _channels(AdaptationModule.load(tmp_path / "module.pt")) == [16, 16]
    assert _channels(AdaptationModule.load(run.path / "final" / "adaptation.pt")) == [64, 64]


@pytest.mark.parametrize("script", ["compare_adaptation_archs", "bench_phase2"])
def test_the_scripts_refuse_a_bad_encoder_name(script: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script(script)
    entry = module.parse_args if script == "compare_adaptation_archs" else module.main
    with pytest.raises(SystemExit) as exited:
        entry(["--archs", "conv", "conv:0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "encoder 'conv:0': expected ARCH or ARCH:WIDTH" in err
    assert "Traceback" not in err
