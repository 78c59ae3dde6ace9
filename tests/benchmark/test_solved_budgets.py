"""``scripts/solved_budgets.py``: the table of train returns by budget marks a budget solved
only where every seed reaches the family's documented solved level."""

from __future__ import annotations

import pytest
from script_loading import load_script


def test_every_family_of_the_script_has_a_solved_level() -> None:
    script = load_script("solved_budgets")
    for family in script.FAMILIES:
        assert script.solved_level(family) is not None, family


def test_a_budget_is_solved_only_when_every_seed_is() -> None:
    script = load_script("solved_budgets")
    point = script.Point
    points = [
        point("cartpole", "oracle", 0, 1000, 480.0),
        point("cartpole", "oracle", 1, 1000, 300.0),
        point("cartpole", "oracle", 0, 2000, 500.0),
        point("cartpole", "oracle", 1, 2000, 476.0),
    ]
    rows = [
        line
        for line in script.table(points).splitlines()
        if line.startswith("| 1,000") or line.startswith("| 2,000")
    ]
    assert rows == ["| 1,000 | 480.0 | 300.0 | no |", "| 2,000 | 500.0 | 476.0 | yes |"]
    assert "cartpole oracle (solved level 475.0)" in script.table(points)


def test_hyperparameter_overrides_are_a_json_object() -> None:
    script = load_script("solved_budgets")
    args = script.parse_args(
        ["--budget", "10", "--every", "10", "--hyperparams", '{"n_epochs": 5, "batch_size": 128}']
    )
    assert args.hyperparams == '{"batch_size": 128, "n_epochs": 5}'
    assert script.parse_args(["--budget", "10", "--every", "10"]).hyperparams is None
    for bad in ("{n_epochs: 5}", "[5]"):
        with pytest.raises(SystemExit) as exit_info:
            script.parse_args(["--budget", "10", "--every", "10", "--hyperparams", bad])
        assert exit_info.value.code == 2
