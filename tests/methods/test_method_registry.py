"""A method registered by user code trains, evaluates and runs in a benchmark without any
change to mtml-rl; the registry's lookups (names, entry points, references) and its errors."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch as th

from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.runner import run_benchmark
from mtml_rl.cli.main import main
from mtml_rl.errors import ConfigError, UnknownNameError
from mtml_rl.methods import MetaMethod, Method, get_method, method_names, register_method
from mtml_rl.methods.dr import DR
from mtml_rl.training import Run, TrainConfig, registry, train

CARTPOLE = "mtml/CartPole-v0"
WIDE = MetaMethod(
    name="dr_wide",
    summary="dr with a wider network",
    extractor_kwargs={"obs_layers": [96]},
    policy_kwargs={"net_arch": [48]},
)
"""A user's method: ``dr`` (context-blind) with another network, registered in the test."""
TINY: dict[str, Any] = {
    "n_envs": 4,
    "eval_freq": 0,
    "save_freq": 0,
    "num_threads": 1,
    "hyperparams": {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
}


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[None]:
    """``dr_wide`` registered for this module's tests only: the registry's tables are restored
    afterwards, so later tests in the same worker never see it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "_entries", dict(registry._entries))
        patch.setattr(registry, "_registered", dict(registry._registered))
        register_method(WIDE, replace=True)
        yield


def layer_sizes(run: Run) -> list[int]:
    """Output sizes of the policy's linear layers, in order."""
    return [m.out_features for m in run.model.policy.modules() if isinstance(m, th.nn.Linear)]


def test_a_registered_method_trains_and_loads_with_its_own_network(tmp_path: Path) -> None:
    run = train(TrainConfig(env=CARTPOLE, method="dr_wide", timesteps=128, out=str(tmp_path / "r"), **TINY))
    assert 96 in layer_sizes(run) and 48 in layer_sizes(run)
    assert run.method is WIDE
    loaded = Run.load(run.path)
    assert layer_sizes(loaded) == layer_sizes(run)
    records = loaded.evaluate(split="test-interpolation")
    assert len(records) == len(set(r.task for r in records)) > 0


@pytest.mark.slow
def test_a_registered_method_evaluates_through_the_cli(tmp_path: Path) -> None:
    run = train(TrainConfig(env=CARTPOLE, method="dr_wide", timesteps=128, out=str(tmp_path / "r"), **TINY))
    out = tmp_path / "eval"
    code = main(
        ["evaluate", str(run.path), "--split", "test-interpolation", "--episodes", "2", "--out", str(out)]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["method"], r["label"], r["privileged"]) for r in results["runs"]] == [
        ("dr_wide", "dr_wide", False)
    ]


@pytest.mark.slow
def test_a_registered_method_runs_in_a_spawned_benchmark(tmp_path: Path) -> None:
    config = BenchmarkConfig.from_dict(
        {
            "envs": [CARTPOLE],
            "methods": ["dr", "dr_wide"],
            "seeds": [0],
            "timesteps": 128,
            "out": str(tmp_path / "bench"),
            "train": {k: v for k, v in TINY.items() if k != "num_threads"},
            "workers": 1,  # one spawned worker runs both trials: one torch import, not two
            "evaluation": {
                "splits": ["test-interpolation"],
                "episodes": 2,
                "bootstrap_reps": 100,
                "figures": False,
            },
        }
    )
    result = run_benchmark(config, progress=False)
    assert result.ok, [r.error for r in result.records]
    assert sorted(result.ran) == ["CartPole-dr-s0", "CartPole-dr_wide-s0"]
    assert result.comparison is not None
    assert {r.method for r in result.comparison.rows} == {"dr", "dr_wide"}


def test_a_reference_and_an_entry_point_find_methods_in_other_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_methods.py").write_text(
        textwrap.dedent(
            """
            from mtml_rl.methods import MetaMethod

            NARROW = MetaMethod(name="dr_narrow", policy_kwargs={"net_arch": [8]})
            PLUGGED = MetaMethod(name="dr_plugged", policy_kwargs={"net_arch": [12]})
            """
        )
    )
    dist = tmp_path / "my_methods-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-methods\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mtml_rl.methods]\ndr_plugged = my_methods:PLUGGED\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_method("my_methods:NARROW").name == "dr_narrow"
    assert "dr_plugged" in method_names()
    assert get_method("dr_plugged").policy_kwargs == {"net_arch": [12]}
    config = TrainConfig(
        env=CARTPOLE, method="my_methods:NARROW", timesteps=64, out=str(tmp_path / "r"), **TINY
    )
    run = train(config)
    assert run.path.name == "r" and 8 in layer_sizes(run)
    assert Run.load(run.path).config.method == "my_methods:NARROW"


def test_registry_errors_name_the_fix() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'oracle'"):
        get_method("oracel")
    with pytest.raises(ConfigError, match="registered already; pass replace=True"):
        register_method(MetaMethod(name="dr"))
    with pytest.raises(ConfigError, match="'DR' differs from it only in case"):  # one folder on macOS
        register_method(MetaMethod(name="DR"), replace=True)
    with pytest.raises(ConfigError, match="not a Method"):
        register_method(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="register an instance"):
        register_method(MetaMethod)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must start with a letter"):
        register_method(MetaMethod(name="bad name"))
    with pytest.raises(ConfigError, match="cannot import method"):
        get_method("no_such_module_here:THING")
    with pytest.raises(ConfigError, match="unknown method 'dr_wdie'; did you mean 'dr_wide'"):
        TrainConfig(method="dr_wdie")
    register_method(DR)  # the same object again is not a conflict
    assert isinstance(get_method("dr"), Method)


def test_the_built_ins_are_registered_objects() -> None:
    names = method_names()
    assert names[:7] == ("dr", "oracle", "history", "adapt", "rl2", "finetune", "pearl")
    oracle = get_method("oracle")
    assert oracle.privileged and oracle.reads_context and oracle.report_label == "oracle (privileged)"
    assert get_method("rl2").default_trial_episodes == 2 and get_method("rl2").recurrent
    assert get_method("adapt").post_training == "phase2"
    assert get_method("pearl").default_trial_episodes == 2 and not get_method("pearl").reads_context
