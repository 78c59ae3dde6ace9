"""The Task: immutable, hashable, JSON round trip, stable id."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from mtml_rl.errors import TaskError, UnknownNameError
from mtml_rl.families.cartpole import CartPole
from mtml_rl.tasks import Task

DEFAULT_CARTPOLE_ID = "cartpole-86ccc0818d"
"""The id of CartPole's default task: pinned, because ids are recorded in results."""


@pytest.fixture
def task() -> Task:
    return CartPole.task({"length": 1.4, "actuator_gain": -0.75})


def test_task_is_immutable(task: Task) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.family = "pendulum"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.params = ()  # type: ignore[misc]
    assert isinstance(task.params, tuple)


def test_task_is_hashable_and_compares_by_value(task: Task) -> None:
    same = CartPole.task({"actuator_gain": -0.75, "length": 1.4})
    other = CartPole.task({"length": 1.5, "actuator_gain": -0.75})
    assert same == task
    assert hash(same) == hash(task)
    assert other != task
    assert len({task, same, other}) == 2
    assert {task: "a"}[same] == "a"


def test_values_are_canonical_so_float_noise_does_not_split_tasks() -> None:
    assert CartPole.task({"length": 0.1 + 0.2}) == CartPole.task({"length": 0.3})


def test_params_hold_every_parameter_in_declaration_order(task: Task) -> None:
    assert [k for k, _ in task.params] == list(CartPole.param_names())
    assert task["length"] == 1.4
    assert task["gravity"] == 9.8
    with pytest.raises(KeyError, match="lenght"):
        task["lenght"]


def test_json_round_trip(task: Task) -> None:
    back = Task.from_json(task.to_json())
    assert back == task
    assert hash(back) == hash(task)
    assert back.id == task.id
    assert back.as_dict() == task.as_dict()
    assert Task.from_json_dict(task.to_json_dict()) == task


def test_json_round_trip_with_sorted_keys(task: Task) -> None:
    """Results files are written with sorted keys: the task read back is the same task."""
    text = json.dumps(task.to_json_dict(), sort_keys=True)
    assert Task.from_json(text) == task


def test_equality_ignores_parameter_order(task: Task) -> None:
    reordered = Task(task.family, tuple(reversed(task.params)))
    assert reordered == task
    assert hash(reordered) == hash(task)
    assert reordered.id == task.id


def test_id_is_stable() -> None:
    assert CartPole.default_task().id == DEFAULT_CARTPOLE_ID


@pytest.mark.slow
def test_id_is_the_same_in_a_fresh_interpreter(task: Task) -> None:
    code = (
        "from mtml_rl.families.cartpole import CartPole;"
        "print(CartPole.task({'length': 1.4, 'actuator_gain': -0.75}).id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip() == task.id


def test_id_depends_on_family_and_every_value(task: Task) -> None:
    assert task.id.startswith("cartpole-")
    ids = {task.id, CartPole.task({"length": 1.4, "actuator_gain": -0.7}).id}
    ids.add(Task("pendulum", task.params).id)
    assert len(ids) == 3


def test_id_mismatch_is_rejected(task: Task) -> None:
    data = task.to_json_dict()
    data["params"]["length"] = 1.5
    with pytest.raises(TaskError, match=r"does not match its values"):
        Task.from_json_dict(data)


def test_malformed_json_task_is_rejected() -> None:
    with pytest.raises(TaskError, match=r"expected \{'family'"):
        Task.from_json_dict({"params": {"length": 1.0}})


def test_family_validates_values() -> None:
    with pytest.raises(TaskError, match=r"'length' = -1.0 is outside its physical bounds \[0.05, 20.0\]"):
        CartPole.task({"length": -1.0})
    with pytest.raises(UnknownNameError, match="did you mean 'length'"):
        CartPole.task({"lenght": 1.0})
    with pytest.raises(TaskError, match="belongs to family 'pendulum'"):
        CartPole.validate_task(Task("pendulum", (("length", 1.0),)))


def test_short_names_family_and_values(task: Task) -> None:
    assert task.short().startswith("cartpole(gravity=9.8,")
    assert "length=1.4" in task.short()
