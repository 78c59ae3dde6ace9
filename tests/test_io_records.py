"""``mtml_rl.io.record_problem``: a record read back from JSON is checked against its
dataclass's fields and their annotated types before it is used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mtml_rl.io import record_problem


@dataclass
class Example:
    name: str
    count: int
    rate: float
    flag: bool
    note: str | None = None
    values: list[float] = field(default_factory=list)
    table: dict[str, list[int]] = field(default_factory=dict)
    anything: Any = None


GOOD: dict[str, Any] = {"name": "a", "count": 1, "rate": 2, "flag": False}


@pytest.mark.parametrize(
    "data",
    [
        GOOD,
        {**GOOD, "rate": 0.5, "note": None, "values": [1, 2.5], "table": {"x": [1]}, "anything": [{}]},
        {**GOOD, "note": "text"},
    ],
)
def test_a_record_of_its_types_passes(data: dict[str, Any]) -> None:
    assert record_problem(Example, data) == ""


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([GOOD], "list, not an object"),
        ({"name": "a"}, "no count, rate, flag"),
        ({**GOOD, "colour": 1}, "unknown fields colour"),
        ({**GOOD, "count": True}, "a value of another type: count True"),
        ({**GOOD, "count": 1.0}, "a value of another type: count 1.0"),
        ({**GOOD, "rate": "2"}, "a value of another type: rate '2'"),
        ({**GOOD, "flag": 0}, "a value of another type: flag 0"),
        ({**GOOD, "note": 3}, "a value of another type: note 3"),
        ({**GOOD, "values": [1, "x"]}, "a value of another type: values [1, 'x']"),
        ({**GOOD, "table": {"x": [1.5]}}, "a value of another type: table {'x': [1.5]}"),
        ({**GOOD, "table": {"x": 1}}, "a value of another type: table {'x': 1}"),
    ],
)
def test_a_record_of_other_types_is_named(data: Any, problem: str) -> None:
    assert record_problem(Example, data) == problem
