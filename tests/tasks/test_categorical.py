"""Categorical parameters: declaration, tasks, spec regions, splits, protocols and context."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import yaml
from categorical_toy import MODES, SPEC, SwitchParams, ToySwitch
from gymnasium.utils.env_checker import check_env

import mtml_rl
from mtml_rl.envs.observation import ContextCodec
from mtml_rl.errors import SpecError, TaskError
from mtml_rl.evaluation.collect import grid_layout, grid_values
from mtml_rl.families import registry
from mtml_rl.specs import build_splits, parse_spec
from mtml_rl.tasks import Task, schema


@pytest.fixture(autouse=True)
def _toy_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy family registered for each test (and forgotten afterwards)."""
    monkeypatch.setattr(registry, "_REGISTERED", {**registry._REGISTERED, "toy_switch": ToySwitch})
    monkeypatch.setattr(registry, "_CHECKED", dict(registry._CHECKED))


def _spec(change: Any = None) -> Any:
    data = copy.deepcopy(SPEC)
    if change is not None:
        change(data)
    return parse_spec(data, source="toy.yaml")


# ---------------------------------------------------------------------------- declaration
def test_schema_lists_the_values_and_validates_names() -> None:
    mode = schema(SwitchParams)[0]
    assert mode.categorical and mode.values == MODES and mode.default == "stay"
    assert (mode.low, mode.high) == (0.0, 4.0)
    assert SwitchParams(mode="up").as_dict() == {"mode": "up", "strength": 0.5}
    assert SwitchParams(mode="up").as_array().tolist() == [2.0, 0.5]
    with pytest.raises(TaskError, match="'lef' is not one of its values; did you mean 'left'"):
        SwitchParams(mode="lef")
    with pytest.raises(TaskError, match="is not one of its values"):
        SwitchParams(mode=1)  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="must be a number"):
        SwitchParams(strength="strong")  # type: ignore[arg-type]


def test_tasks_with_names_hash_compare_and_round_trip() -> None:
    task = ToySwitch.task({"mode": "left", "strength": 0.25})
    again = Task.from_json(task.to_json())
    assert again == task and hash(again) == hash(task) and again.id == task.id
    assert task["mode"] == "left" and task.short() == "toy_switch(mode=left, strength=0.25)"
    assert ToySwitch.task({"mode": "right", "strength": 0.25}).id != task.id
    assert ToySwitch.params_array([task]).tolist() == [[0.0], [0.25]]


# --------------------------------------------------------------------------------- specs
def test_spec_regions_of_names_parse_and_round_trip() -> None:
    spec = _spec()
    mode = spec.parameter("mode")
    assert mode.categorical and mode.values == ("left", "right", "up", "down", "stay")
    assert [p.name for p in spec.categorical] == ["mode"]
    again = parse_spec(spec.to_dict(), source="again")
    assert again == spec and again.content_hash() == spec.content_hash()
    assert spec.to_dict()["parameters"]["mode"] == {
        "train": ["left", "right", "up"],
        "extrapolation": ["down", "stay"],
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda d: d["parameters"]["mode"].update(train=["left", "rigth"]),
            "parameters.mode.train",
            "'rigth' is not a value of 'mode'; did you mean 'right'",
        ),
        (
            lambda d: d["parameters"]["mode"].update(extrapolation=["sideways"]),
            "parameters.mode.extrapolation",
            "'sideways' is not a value of 'mode'",
        ),
        (
            lambda d: d["parameters"]["mode"].update(train=["left", "left"]),
            "parameters.mode.train",
            "listed twice",
        ),
        (
            lambda d: d["parameters"]["mode"].update(train=[0.0, 1.0]),
            "parameters.mode.train",
            "0.0 is not a value of 'mode'",
        ),
        (
            lambda d: d["parameters"]["mode"].update(extrapolation=["up"]),
            "parameters.mode.extrapolation",
            "up also in the train values",
        ),
        (
            lambda d: d["parameters"].pop("mode") and d.update(fixed={"mode": "north"}),
            "fixed.mode",
            "'north' is not a value of 'mode'",
        ),
        (
            lambda d: d.update(combinatorial={"mode": [0, 1], "strength": [0.5, 1.0]}),
            "combinatorial.mode",
            "is categorical",
        ),
        (
            lambda d: d.update(protocol="official"),
            "protocol",
            "unknown protocol 'official'; 'toy_switch' defines fixed",
        ),
    ],
)
def test_bad_categorical_input_is_one_clear_error(change: Any, field: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        _spec(change)
    assert caught.value.field == field


def test_a_fixed_name_is_part_of_every_task() -> None:
    spec = _spec(lambda d: d["parameters"].pop("mode") and d.update(fixed={"mode": "up"}))
    assert {t["mode"] for t in build_splits(spec)["train"]} == {"up"}


# -------------------------------------------------------------------------------- splits
def test_held_out_values_never_appear_in_training() -> None:
    splits = build_splits(_spec())
    train_modes = {t["mode"] for t in splits["train"]} | {t["mode"] for t in splits["test-interpolation"]}
    assert train_modes <= {"left", "right", "up"} and len(train_modes) == 3
    extrapolation = splits["test-extrapolation"].tasks
    assert all(t["mode"] in ("down", "stay") or float(t["strength"]) >= 1.0 for t in extrapolation)
    assert any(t["mode"] in ("down", "stay") for t in extrapolation)
    assert not set(splits["train"]) & set(extrapolation)


def test_splits_with_names_are_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    from mtml_rl.specs import splits as splits_module

    first = build_splits(_spec()).hashes()
    monkeypatch.setattr(splits_module, "_CACHE", {})
    assert build_splits(_spec()).hashes() == first


def test_rejected_combinations_are_drawn_again() -> None:
    def wide(d: dict[str, Any]) -> None:
        d["parameters"] = {"mode": {"train": ["stay"]}, "strength": {"train": [0.0, 2.0]}}
        d["splits"] = {"train": 40}

    tasks = build_splits(_spec(wide))["train"].tasks
    assert len(tasks) == 40 and all(float(t["strength"]) <= 1.5 for t in tasks)


def test_a_protocol_lists_the_tasks_of_its_splits() -> None:
    spec = _spec(lambda d: d.update(protocol="fixed"))
    splits = build_splits(spec)
    assert [(t["mode"], t["strength"]) for t in splits["train"]][:4] == [
        ("left", 0.1),
        ("right", 0.1),
        ("up", 0.1),
        ("left", 0.2),
    ]
    assert {t["mode"] for t in splits["test-extrapolation"]} == {"down", "stay"}
    assert len(splits["test-interpolation"]) == 6  # not listed by the protocol: drawn
    assert spec.to_dict()["protocol"] == "fixed"


def test_a_protocol_task_outside_the_regions_is_refused() -> None:
    spec = _spec(lambda d: d.update(protocol="fixed") or d["parameters"]["strength"].update(train=[0.5, 1.0]))
    with pytest.raises(SpecError, match="lists a task outside this split's regions"):
        build_splits(spec)


# ------------------------------------------------------------------------------- context
def test_context_is_one_hot_for_names_and_normalized_for_numbers() -> None:
    spec = _spec()
    codec = ContextCodec(spec, ToySwitch)
    tasks = [ToySwitch.task({"mode": m, "strength": 1.0}) for m in ("left", "stay")]
    context = codec.encode(tasks)
    assert codec.dim == 6 and codec.task_id_index.tolist() == [0, 1, 2, 3, 4]
    assert context.tolist() == [[1, 0, 0, 0, 0, 1.0], [0, 0, 0, 0, 1, 1.0]]
    assert codec.space.contains(context[0]) and codec.space.contains(context[1])


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "ToySwitch.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


@pytest.mark.parametrize("context", ["hidden", "visible", "privileged"])
def test_env_with_names_passes_the_checker(context: str, spec_file: Path) -> None:
    for split in ("train", "test-extrapolation"):
        env = mtml_rl.make(spec_file, split=split, context=context)
        check_env(env.unwrapped, skip_render_check=True)
        obs, info = env.reset(seed=1)
        assert env.observation_space.contains(obs)
        assert info["task_params"]["mode"] in MODES
        env.close()


def test_vector_env_shows_the_one_hot_in_visible_mode(spec_file: Path) -> None:
    tasks = [ToySwitch.task({"mode": m, "strength": 0.5}) for m in ("up", "down")]
    venv = mtml_rl.make_vec(spec_file, num_envs=2, tasks=tasks, context="visible")
    obs, _ = venv.reset(seed=0)
    assert obs[:, 2:7].tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]
    venv.close()
    assert isinstance(venv, gym.vector.VectorEnv)


def test_grid_over_a_categorical_axis_leaves_rejected_cells_empty() -> None:
    grid, tasks = grid_layout(_spec(), ("mode", "strength"), 3)
    assert grid.x_values == ["left", "right", "up", "down", "stay"] and grid.y_values == [0.0, 1.0, 2.0]
    assert grid.train_boxes == [[[-0.5, 2.5], [0.0, 1.0]]]
    assert [t is None for t in tasks] == [False] * 14 + [True]  # stay at strength 2: rejected
    cells = grid_values(grid, tasks, [float(k) for k in range(14)])
    assert cells[2] == [10.0, 11.0, 12.0, 13.0, None]
    assert json.loads(json.dumps(cells)) == cells
