"""Bad input to ``adapt`` and its baselines fails early with a clear error.

History length, latent size and trial length must be positive (the config, the CLI, the
module); ``oracle`` and ``adapt`` need a spec that allows privileged context, and a spec
can say it does not (``privileged_context: false``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from adaptation_helpers import TinyRun, tiny_config

from mtml_rl.adaptation.module import AdaptationModule
from mtml_rl.agents import load_agent
from mtml_rl.cli.main import main
from mtml_rl.envs.single import MultiTaskEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import CheckpointError, ConfigError, SpecError, TaskError
from mtml_rl.specs.spec import builtin_specs, load_spec_file, parse_spec
from mtml_rl.training import Run, TrainConfig
from mtml_rl.training.train import train

SpecFile = Callable[..., Path]

FIELDS = ("history_len", "latent_dim", "trial_episodes")


def _no_privileged_context(data: dict[str, Any]) -> None:
    data["privileged_context"] = False


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", [0, -1])
def test_config_refuses_non_positive_sizes(field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=rf"{field} must be a positive integer, got {value}"):
        fields: dict[str, Any] = {field: value}
        TrainConfig(method="adapt", **fields)


@pytest.mark.parametrize("field", FIELDS)
def test_cli_train_exits_2_on_non_positive_sizes(
    field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    flag = "--" + field.replace("_", "-")
    code = main(["train", "--method", "adapt", f"{flag}=0", "--out", str(out), "--quiet"])
    assert code == 2
    assert f"{field} must be a positive integer" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "sizes",
    [
        {"history_len": 0, "row_dim": 6, "latent_dim": 8},
        {"history_len": 16, "row_dim": 6, "latent_dim": 0},
        {"history_len": 16, "row_dim": -1, "latent_dim": 8},
    ],
)
def test_module_refuses_non_positive_sizes(sizes: dict[str, Any]) -> None:
    name = next(k for k, v in sizes.items() if v < 1)
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        AdaptationModule(**sizes)


def test_environment_refuses_trials_below_one() -> None:
    with pytest.raises(TaskError, match="trial_episodes must be an integer >= 1"):
        MultiTaskVectorEnv("mtml/CartPole-v0", num_envs=1, trial_episodes=0)


@pytest.mark.parametrize("method", ["adapt", "oracle"])
def test_training_refuses_context_methods_without_privileged_context(
    method: str, spec_file: SpecFile, tmp_path: Path
) -> None:
    path = spec_file(_no_privileged_context)
    config = tiny_config(tmp_path / "run", method, env=str(path))
    with pytest.raises(ConfigError) as info:
        train(config, progress=False)
    message = str(info.value)
    assert f"method {method}" in message and str(path) in message and "privileged_context: false" in message
    assert "dr, history or rl2" in message
    assert not (tmp_path / "run").exists()


def test_cli_train_exits_2_for_adapt_without_privileged_context(
    spec_file: SpecFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec_file(_no_privileged_context)
    code = main(["train", "--env", str(path), "--method", "adapt", "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert "dr, history or rl2" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["dr", "history"])
@pytest.mark.fast_subset({"method": "history"})
def test_context_blind_methods_train_without_privileged_context(
    method: str, spec_file: SpecFile, tmp_path: Path
) -> None:
    path = spec_file(_no_privileged_context)
    run = train(tiny_config(tmp_path / "run", method, env=str(path)), progress=False)
    assert run.model.num_timesteps >= 256


@pytest.mark.parametrize("context", ["visible", "privileged"])
def test_environments_refuse_to_show_a_forbidden_context(context: str, spec_file: SpecFile) -> None:
    path = spec_file(_no_privileged_context)
    with pytest.raises(TaskError, match="privileged_context: false"):
        MultiTaskVectorEnv(str(path), num_envs=1, context=context)
    with pytest.raises(TaskError, match="use context='hidden'"):
        MultiTaskEnv(str(path), context=context)
    hidden = MultiTaskVectorEnv(str(path), num_envs=1, context="hidden")
    obs, _ = hidden.reset(seed=0)
    hidden.close()
    assert not isinstance(obs, dict)


def test_spec_field_defaults_to_true_and_round_trips(spec_file: SpecFile) -> None:
    default = load_spec_file(spec_file())
    assert default.privileged_context is True
    assert "privileged_context" not in default.to_dict()
    refused = load_spec_file(spec_file(_no_privileged_context))
    assert refused.privileged_context is False
    assert refused.to_dict()["privileged_context"] is False
    assert parse_spec(refused.to_dict()) == refused
    assert refused.content_hash() != default.content_hash()


def test_builtin_specs_allow_privileged_context() -> None:
    assert all(spec.privileged_context for spec in builtin_specs().values())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"privileged_context": "no"}, "expected true or false"),
        ({"privileged_context": 0}, "expected true or false"),
        ({"privileged_context": False, "context": "visible"}, "privileged_context is false"),
    ],
)
def test_spec_refuses_bad_privileged_context(
    change: dict[str, Any], match: str, cartpole_data: dict[str, Any]
) -> None:
    with pytest.raises(SpecError, match=match):
        parse_spec({**cartpole_data, **change})


def test_a_phase_2_setting_edited_after_phase_2_is_refused_at_deployment(
    tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``adapt_epochs`` edited in a finished ``adapt`` run's ``config.yaml`` evaluated its
    module as one of the new setting; deployed as ``oracle`` (phase 1 only) it still loads."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run("adapt").path, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    epochs = config["adapt_epochs"]
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "adapt_epochs": epochs + 1}, sort_keys=False))
    module = run / "final" / "adaptation.pt"
    expected = f"changed since phase 2 trained {module} (adapt_epochs is {epochs + 1}, was {epochs})"
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        load_agent(Run.load(run))
    assert type(load_agent(Run.load(run).deployed_as("oracle"))).__name__ == "PolicyAgent"
    args = ["evaluate", str(run), "--split", "test-interpolation", "--episodes", "1", "--no-figures"]
    assert main([*args, "--out", str(tmp_path / "eval")]) == 2
    assert expected in capsys.readouterr().err
