"""``scripts/compare_history.py``: its ``history-before`` variant builds the policy that
``history`` shipped before the fix (one extractor shared by actor and critic, unbounded
``z``), and its ``history`` variant the shipped one."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from test_solved_budgets import load_script

from mtml_rl.training import TrainConfig
from mtml_rl.training.registry import get_method

SPACE = spaces.Dict(
    {
        "obs": spaces.Box(-1.0, 1.0, (4,), np.float32),
        "history": spaces.Box(-np.inf, np.inf, (16 * 7,), np.float32),
    }
)


def built_options(variant: str) -> tuple[bool, bool]:
    """``(share_features_extractor, history_tanh)`` of the policy a variant trains."""
    script = load_script("compare_history")
    method, overrides = script.VARIANTS[variant]
    config = TrainConfig(env="mtml/CartPole-v0", method=method, hyperparams=overrides)
    kwargs = get_method(method).policy(config, SPACE, {"net_arch": [64, 64]}).kwargs
    assert kwargs["net_arch"] == [64, 64]
    return kwargs.get("share_features_extractor", True), kwargs["features_extractor_kwargs"]["history_tanh"]


def test_the_before_variant_is_the_previous_history_policy() -> None:
    assert built_options("history-before") == (True, False)
    assert built_options("history-shared") == (True, True)
    assert built_options("history-unbounded") == (False, False)


def test_the_history_variant_is_the_shipped_method() -> None:
    assert built_options("history") == (False, True)
