"""Each built-in method says which of the config fields only some methods read it reads
(:meth:`Method.fields_read`), and says it truthfully: a field it leaves out changes nothing in
the policy it builds or the environment it trains in. ``mtml-rl train`` refuses a flag of a
field its method does not read (``--method dr --adapt-timesteps 5000`` trained a ``dr`` run and
recorded the setting as if it had acted)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch as th
import yaml
from categorical_toy import SPEC, ToySwitch

from mtml_rl.cli import train_cmd
from mtml_rl.cli.main import build_parser, main
from mtml_rl.families import registry
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.training.builders import build_env, build_model, resolve_algo
from mtml_rl.training.config import PER_METHOD_FIELDS, TrainConfig
from mtml_rl.training.registry import get_method

CHANGED: dict[str, Any] = {
    "latent_dim": 3,
    "history_len": 4,
    "history_arch": "mlp",
    "history_hidden": 8,
    "adapt_timesteps": 7,
    "adapt_iterations": 2,
    "adapt_epochs": 3,
    "adapt_probe_steps": 5,
    "finetune_timesteps": 9,
    "finetune_hyperparams": {"n_steps": 32},
}
"""A value other than the default for every per-method field."""
SMALL_BUFFER = {"buffer_size": 1000}
"""SAC's replay buffer, small: the test builds models, it does not train them."""
CASES = [
    ("dr", "mtml/CartPole-v0", "ppo", frozenset()),
    ("oracle", "mtml/CartPole-v0", "ppo", {"latent_dim"}),
    ("history", "mtml/CartPole-v0", "ppo", {"latent_dim", "history_len", "history_arch", "history_hidden"}),
    (
        "adapt",
        "mtml/CartPole-v0",
        "ppo",
        set(PER_METHOD_FIELDS) - {"finetune_timesteps", "finetune_hyperparams"},
    ),
    ("finetune", "mtml/CartPole-v0", "ppo", {"finetune_timesteps", "finetune_hyperparams"}),
    ("rl2", "mtml/CartPole-v0", "ppo", frozenset()),
    ("pearl", "mtml/Pendulum-v0", "sac", {"latent_dim", "history_len"}),
    ("onehot", "toy", "ppo", {"latent_dim"}),
    ("multihead", "toy", "ppo", frozenset()),
]


@pytest.fixture
def toy_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A spec whose tasks differ in a categorical parameter (for the task-id methods)."""
    monkeypatch.setattr(registry, "_REGISTERED", {**registry._REGISTERED, "toy_switch": ToySwitch})
    path = tmp_path / "ToySwitch.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return str(path)


def test_every_per_method_field_is_changed_here() -> None:
    assert set(CHANGED) == set(PER_METHOD_FIELDS)


def built(config: TrainConfig) -> tuple[Any, dict[str, th.Tensor]]:
    """The training env's observation space and the freshly built policy's parameters."""
    spec = resolve_spec(config.env)
    algo, hp = resolve_algo(config, spec)
    stack = build_env(config, spec, hp, n_envs=2)
    try:
        model = build_model(config, algo, hp, stack)
        return stack.env.observation_space, dict(model.policy.state_dict())
    finally:
        stack.env.close()


@pytest.mark.parametrize(("method", "env", "algo", "reads"), CASES, ids=[c[0] for c in CASES])
def test_a_field_the_method_does_not_read_changes_nothing_it_builds(
    method: str, env: str, algo: str, reads: set[str], toy_spec: str
) -> None:
    hyperparams = SMALL_BUFFER if algo == "sac" else {}
    base = TrainConfig(
        env=toy_spec if env == "toy" else env, method=method, algo=algo, hyperparams=hyperparams
    )
    assert get_method(method).fields_read(base) == reads
    unread = {name: value for name, value in CHANGED.items() if name not in reads}
    other = dataclasses.replace(base, **unread)
    space, parameters = built(base)
    other_space, other_parameters = built(other)
    assert other_space == space
    assert other_parameters.keys() == parameters.keys()
    assert all(th.equal(other_parameters[k], parameters[k]) for k in parameters)
    if {"latent_dim", "history_len"} & reads:  # and a field it reads does change it
        read = {name: CHANGED[name] for name in ("latent_dim", "history_len") if name in reads}
        changed_space, changed_parameters = built(dataclasses.replace(base, **read))
        shapes = {k: v.shape for k, v in parameters.items()}
        assert changed_space != space or {k: v.shape for k, v in changed_parameters.items()} != shapes


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--method", "dr", "--adapt-timesteps", "5000"], "--adapt-timesteps (read by adapt)"),
        (["--method", "oracle", "--history-len", "8"], "--history-len (read by history, adapt, pearl)"),
        (
            ["--method", "rl2", "--finetune-hyperparams", "n_steps:32"],
            "--finetune-hyperparams (read by finetune)",
        ),
    ],
)
def test_train_refuses_a_flag_its_method_does_not_read(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", *flags, "--timesteps", "64", "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert f"does not read {named}: its run would be the same without it" in error
    assert "Traceback" not in error and not out.exists()


def test_a_config_file_may_hold_fields_its_method_does_not_read(tmp_path: Path) -> None:
    """A run's own ``config.yaml`` holds every field: it may be the base of a run of another
    method."""
    config = tmp_path / "config.yaml"
    config.write_text(TrainConfig(method="adapt", adapt_timesteps=5000).to_yaml())
    parsed = build_parser().parse_args(["train", "--config", str(config), "--method", "dr"])
    built_config = train_cmd.build_config(parsed)
    train_cmd.refuse_flags_not_read(parsed, built_config)  # no error
    assert built_config.method == "dr" and built_config.adapt_timesteps == 5000
