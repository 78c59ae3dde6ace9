"""Fixtures of the training tests (helpers live in ``training_helpers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from training_helpers import ConfigFactory, small_config

from mtml_rl.training import TrainConfig


@pytest.fixture
def config(tmp_path: Path) -> ConfigFactory:
    """``config(**fields)``: a small seeded config writing to ``tmp_path / "run"`` by default."""

    def make(**fields: Any) -> TrainConfig:
        return small_config(fields.pop("out", tmp_path / "run"), **fields)

    return make
