"""``scripts/solved_budgets.py``: the table of train returns by budget marks a budget solved
only where every seed reaches the family's documented solved level."""

from __future__ import annotations

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
