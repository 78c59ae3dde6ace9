"""``mtml-rl train``'s flags are generated from :class:`TrainConfig`'s fields: each reads its
text as the field's type says, so every whole-number field given on the command line reaches
the config as a number (``--history-hidden 32`` was once passed on as the text ``'32'`` and
refused)."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from mtml_rl.cli import train_cmd
from mtml_rl.cli.main import build_parser
from mtml_rl.training.config import TrainConfig

HINTS = typing.get_type_hints(TrainConfig)
WHOLE_NUMBER_FIELDS = [
    f.name for f in dataclasses.fields(TrainConfig) if HINTS[f.name] is int or HINTS[f.name] == int | None
]


def test_the_whole_number_fields_are_found() -> None:
    assert {"timesteps", "seed", "history_hidden", "trial_episodes", "num_threads"} <= set(
        WHOLE_NUMBER_FIELDS
    )


@pytest.mark.parametrize("name", WHOLE_NUMBER_FIELDS)
def test_a_whole_number_flag_reaches_the_config_as_a_number(name: str) -> None:
    flag = "--" + name.replace("_", "-")
    args = build_parser().parse_args(["train", "--env", "mtml/CartPole-v0", "--method", "history", flag, "3"])
    config = train_cmd.build_config(args)
    assert getattr(config, name) == 3 and type(getattr(config, name)) is int


def test_a_text_flag_stays_text() -> None:
    args = build_parser().parse_args(["train", "--env", "mtml/CartPole-v0", "--history-arch", "mlp"])
    assert train_cmd.build_config(args).history_arch == "mlp"
