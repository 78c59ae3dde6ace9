"""Bad input gets one clear error naming the file, the field and the fix; nothing is half-built.

Each bad spec is ``envs/CartPole.yaml`` with exactly one change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import mtml_rl
from mtml_rl.errors import MtmlError, SpecError, TaskError, UnknownNameError
from mtml_rl.families.cartpole import CartPole

CARTPOLE_ID = "mtml/CartPole-v0"
SpecFile = Callable[..., Path]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the dotted ``path`` of the spec data to ``value``."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    """A change that deletes the dotted ``path`` of the spec data."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        del data[last]

    return change


def _rename_parameter(data: dict[str, Any]) -> None:
    data["parameters"]["lenght"] = data["parameters"].pop("length")


def _drop_extrapolation(data: dict[str, Any]) -> None:
    for entry in data["parameters"].values():
        entry.pop("extrapolation")


# (change, field named in the message, words of the fix)
BAD_SPECS = [
    pytest.param(
        _set("family", "cartpol"),
        "family",
        ["unknown family 'cartpol'", "did you mean 'cartpole'"],
        id="unknown-family",
    ),
    pytest.param(
        _rename_parameter,
        "parameters.lenght",
        ["no parameter 'lenght'", "did you mean 'length'"],
        id="unknown-parameter",
    ),
    pytest.param(
        _set("parameters.length.train", [1.5, 0.5]),
        "parameters.length.train",
        ["min 1.5 is above max 0.5", "write it as [0.5, 1.5]"],
        id="min-above-max",
    ),
    pytest.param(
        _set("parameters.length.train", [0.01, 1.5]),
        "parameters.length.train",
        ["physical bounds of 'length' [0.05, 20.0]", "keep the region inside"],
        id="outside-bounds",
    ),
    pytest.param(
        _set("parameters.length.extrapolation", [1.5, 30.0]),
        "parameters.length.extrapolation",
        ["physical bounds", "keep the region inside"],
        id="extrapolation-outside-bounds",
    ),
    pytest.param(
        _set("parameters.length.extrapolation", [[0.25, 0.6], [1.5, 2.5]]),
        "parameters.length.extrapolation",
        ["[0.25, 0.6] overlaps the train interval [0.5, 1.5]", "must lie outside the train region"],
        id="held-out-overlaps-train",
    ),
    pytest.param(
        _set("parameters.length.train", [[0.5, 1.0], [0.9, 1.5]]),
        "parameters.length.train",
        ["overlap", "merge them"],
        id="train-intervals-overlap",
    ),
    pytest.param(
        _set("combinatorial.length", [1.2, 1.7]),
        "combinatorial.length",
        ["must lie inside one train interval"],
        id="combinatorial-outside-train",
    ),
    pytest.param(
        _drop("combinatorial.actuator_gain"),
        "combinatorial",
        ["needs at least two parameters"],
        id="combinatorial-one-parameter",
    ),
    pytest.param(
        _set("combinatorial.gravity", [9.0, 10.0]),
        "combinatorial.gravity",
        ["does not vary"],
        id="combinatorial-not-varying",
    ),
    pytest.param(_set("seed", "one"), "seed", ["expected an integer", "'one'"], id="seed-wrong-type"),
    pytest.param(_set("seed", -1), "seed", ["must be at least 0"], id="seed-negative"),
    pytest.param(
        _set("parameters.length.train", ["short", 1.5]),
        "parameters.length.train[0]",
        ["expected a number", "'short'"],
        id="bound-wrong-type",
    ),
    pytest.param(
        _set("parameters.length.train", [True, 1.5]),
        "parameters.length.train[0]",
        ["expected a number"],
        id="bool-is-not-a-number",
    ),
    pytest.param(
        _set("parameters.length.train", [0.5, 1.0, 1.5]),
        "parameters.length.train",
        ["expected an interval [min, max]"],
        id="interval-wrong-shape",
    ),
    pytest.param(
        _set("parameters", ["length"]), "parameters", ["expected a mapping"], id="parameters-wrong-type"
    ),
    pytest.param(
        _set("splits.train", 6.5), "splits.train", ["expected an integer"], id="split-size-wrong-type"
    ),
    pytest.param(_set("max_episode_steps", 0), "max_episode_steps", ["must be at least 1"], id="steps-zero"),
    pytest.param(
        _set("max_episode_steps", 100_000_000),
        "max_episode_steps",
        ["must be at most 100,000, got 100,000,000"],
        id="steps-beyond-any-episode",
    ),
    pytest.param(_set("name", "Cart Pole"), "name", ["letters, digits and '_'"], id="name-not-an-identifier"),
    pytest.param(_drop("name"), "name", ["missing required field"], id="missing-name"),
    pytest.param(_drop("family"), "family", ["missing required field"], id="missing-family"),
    pytest.param(_drop("seed"), "seed", ["missing required field"], id="missing-seed"),
    pytest.param(
        _drop("max_episode_steps"), "max_episode_steps", ["missing required field"], id="missing-steps"
    ),
    pytest.param(_drop("parameters"), "parameters", ["missing required field"], id="missing-parameters"),
    pytest.param(_drop("splits"), "splits", ["missing required field"], id="missing-splits"),
    pytest.param(
        _drop("parameters.length.train"),
        "parameters.length.train",
        ["missing required field"],
        id="missing-train-region",
    ),
    pytest.param(
        _set("sead", 3), "sead", ["unknown field", "did you mean 'seed'"], id="unknown-top-level-key"
    ),
    pytest.param(
        _set("parameters.length.extrapolaton", [2.0, 3.0]),
        "parameters.length.extrapolaton",
        ["unknown field", "did you mean 'extrapolation'"],
        id="unknown-parameter-key",
    ),
    pytest.param(
        _set("context", "hiden"),
        "context",
        ["unknown context mode 'hiden'", "did you mean 'hidden'"],
        id="unknown-context",
    ),
    pytest.param(
        _set("splits.tset-extrapolation", 4),
        "splits.tset-extrapolation",
        ["unknown split", "did you mean 'test-extrapolation'"],
        id="unknown-split",
    ),
    pytest.param(
        _set("splits.train", 0), "splits.train", ["needs at least one task"], id="empty-train-split"
    ),
    pytest.param(
        _set("fixed", {"gravty": 3.0}),
        "fixed.gravty",
        ["unknown parameter", "did you mean 'gravity'"],
        id="fixed-unknown-parameter",
    ),
    pytest.param(
        _set("fixed", {"length": 1.0}),
        "fixed.length",
        ["also varies", "fix it or vary it"],
        id="fixed-and-varying",
    ),
    pytest.param(
        _set("fixed", {"gravity": -9.8}),
        "fixed.gravity",
        ["outside the physical bounds"],
        id="fixed-outside-bounds",
    ),
    pytest.param(
        _drop_extrapolation,
        "splits.test-extrapolation",
        ["no parameter has an 'extrapolation' region", "set this split's size to 0"],
        id="extrapolation-split-without-region",
    ),
]


@pytest.mark.parametrize(("change", "field", "fix"), BAD_SPECS)
def test_bad_spec_gets_one_clear_error(
    spec_file: SpecFile, change: Callable[[dict[str, Any]], None], field: str, fix: list[str]
) -> None:
    path = spec_file(change, name="bad.yaml")
    before = dict(gym.registry)
    with pytest.raises(SpecError) as caught:
        mtml_rl.make(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field '{field}': "), message
    for words in fix:
        assert words in message, message
    assert "\n" not in message
    assert caught.value.source == str(path)
    assert caught.value.field == field
    assert dict(gym.registry) == before, "a failed make must not leave a registration behind"


@pytest.mark.parametrize(
    "load", [mtml_rl.load_spec_file, mtml_rl.resolve_spec, mtml_rl.make, mtml_rl.make_vec]
)
def test_every_entry_point_reports_the_same_error(
    spec_file: SpecFile, load: Callable[[Path | str], Any]
) -> None:
    path = spec_file(_set("family", "cartpol"))
    with pytest.raises(SpecError, match=r"field 'family'.*did you mean 'cartpole'"):
        load(path)
    with pytest.raises(SpecError, match=r"field 'family'.*did you mean 'cartpole'"):
        load(str(path))


def test_spec_error_is_a_value_error(spec_file: SpecFile) -> None:
    with pytest.raises(ValueError, match="unknown family"):
        mtml_rl.load_spec_file(spec_file(_set("family", "cartpol")))


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: CartPole\nparameters: [unclosed\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: is not valid YAML at line 3, column 1: "):
        mtml_rl.load_spec_file(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- CartPole\n")
    with pytest.raises(SpecError, match=r"list\.yaml: expected a mapping, got list"):
        mtml_rl.load_spec_file(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SpecError, match=r"absent\.yaml: no such spec file; pass an existing \.yaml path"):
        mtml_rl.make(path)


def test_splits_that_cannot_be_drawn_leave_nothing_registered(spec_file: SpecFile) -> None:
    """The spec parses, but its zero-width region holds one task: building the env fails."""

    def degenerate(data: dict[str, Any]) -> None:
        data["name"] = "Degenerate"
        data["parameters"] = {"length": {"train": [1.0, 1.0]}}
        del data["combinatorial"]
        data["splits"] = {"train": 3}

    path = spec_file(degenerate)
    before = dict(gym.registry)
    with pytest.raises(
        SpecError, match=r"field 'splits.train': could not draw 3 distinct tasks.*widen its region"
    ):
        mtml_rl.make(path)
    with pytest.raises(SpecError, match="could not draw 3 distinct tasks"):
        mtml_rl.make_vec(path, num_envs=2)
    assert dict(gym.registry) == before
    assert "mtml/Degenerate-v0" not in gym.registry


def test_bad_keyword_on_a_new_spec_leaves_nothing_registered(spec_file: SpecFile) -> None:
    path = spec_file(_set("name", "MyCartPole"))
    before = dict(gym.registry)
    with pytest.raises(UnknownNameError, match="did you mean 'hidden'"):
        mtml_rl.make(path, context="hiden")
    assert dict(gym.registry) == before
    env = mtml_rl.make(path)
    assert env.spec is not None and env.spec.id == "mtml/MyCartPole-v0"


@pytest.mark.parametrize("context", ["visible", "privileged"])
def test_spec_without_privileged_context_refuses_to_show_it(spec_file: SpecFile, context: str) -> None:
    def no_context(data: dict[str, Any]) -> None:
        data["name"] = "BlindCartPole"
        data["privileged_context"] = False

    path = spec_file(no_context)
    before = dict(gym.registry)
    with pytest.raises(TaskError, match=r"declares privileged_context: false.*use context='hidden'"):
        mtml_rl.make(path, context=context)
    with pytest.raises(TaskError, match=r"declares privileged_context: false"):
        mtml_rl.make_vec(path, num_envs=2, context=context)
    assert dict(gym.registry) == before
    assert mtml_rl.make(path).observation_space.shape == (4,)


# -- unknown ids ------------------------------------------------------------------------------
def test_gym_make_unknown_id_suggests_the_close_one() -> None:
    with pytest.raises(gym.error.NameNotFound, match="Did you mean: `CartPole`"):
        gym.make("mtml/CartPol-v0")


def test_gym_make_unknown_version_lists_the_known_one() -> None:
    with pytest.raises(gym.error.VersionNotFound, match="v0"):
        gym.make("mtml/CartPole-v9")


@pytest.mark.parametrize("name", ["CartPol", "mtml/CartPol-v0"])
def test_resolve_spec_unknown_id_suggests_the_close_one(name: str) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown environment id .*did you mean 'mtml/CartPole-v0'"):
        mtml_rl.resolve_spec(name)


def test_mtml_make_unknown_id_suggests_the_close_one() -> None:
    before = dict(gym.registry)
    with pytest.raises(UnknownNameError, match=r"did you mean 'mtml/CartPole-v0'.*pass a path to a spec"):
        mtml_rl.make("mtml/CartPol-v0")
    assert dict(gym.registry) == before


def test_known_ids_resolve() -> None:
    spec = mtml_rl.resolve_spec(CARTPOLE_ID)
    assert mtml_rl.resolve_spec("CartPole") == spec
    assert mtml_rl.resolve_spec(f"mtml_rl:{CARTPOLE_ID}") == spec


# -- invalid task= values ---------------------------------------------------------------------
BAD_TASKS = [
    pytest.param(
        {"lenght": 1.0},
        UnknownNameError,
        r"unknown cartpole parameter 'lenght'; did you mean 'length'",
        id="unknown-parameter",
    ),
    pytest.param(
        {"length": 100.0},
        TaskError,
        r"'length' = 100.0 is outside its physical bounds \[0.05, 20.0\] m; choose a value in that range",
        id="above-bounds",
    ),
    pytest.param(
        {"actuator_gain": -50.0},
        TaskError,
        r"'actuator_gain' = -50.0 is outside its physical bounds",
        id="below-bounds",
    ),
    pytest.param(
        {"length": float("nan")}, TaskError, r"'length' = nan is outside its physical bounds", id="nan"
    ),
    pytest.param(
        {"length": "long"}, TaskError, r"'length' must be a number, got str 'long'", id="string-value"
    ),
    pytest.param({"length": True}, TaskError, r"'length' must be a number, got bool", id="bool-value"),
    pytest.param(
        1.4,
        TaskError,
        r"task= expects a Task or a mapping of parameter values such as \{'length': 1.0\}",
        id="not-a-mapping",
    ),
    pytest.param(
        mtml_rl.Task("pendulum", (("length", 1.0),)),
        TaskError,
        r"belongs to family 'pendulum', not 'cartpole'",
        id="other-family",
    ),
]


@pytest.mark.parametrize(("task", "kind", "pattern"), BAD_TASKS)
def test_invalid_task_value(task: Any, kind: type[Exception], pattern: str) -> None:
    with pytest.raises(kind, match=pattern):
        gym.make(CARTPOLE_ID, task=task)
    with pytest.raises(kind, match=pattern):
        gym.make_vec(CARTPOLE_ID, num_envs=2, task=task)
    with pytest.raises(kind, match=pattern):
        gym.make_vec(CARTPOLE_ID, num_envs=2, tasks=[{"length": 1.0}, task])
    env = gym.make(CARTPOLE_ID)
    with pytest.raises(kind, match=pattern):
        env.unwrapped.set_task(task)  # type: ignore[attr-defined]
    with pytest.raises(kind, match=pattern):
        env.reset(seed=0, options={"task": task})


def test_failed_set_task_keeps_the_previous_task() -> None:
    env = gym.make(CARTPOLE_ID, task={"length": 1.2})
    with pytest.raises(TaskError):
        env.unwrapped.set_task({"length": -1.0})  # type: ignore[attr-defined]
    _, info = env.reset(seed=0)
    assert info["task_params"]["length"] == 1.2


BAD_KWARGS = [
    pytest.param(
        {"split": "tset"},
        UnknownNameError,
        r"unknown split of mtml/CartPole-v0 'tset'; did you mean 'test'",
        id="split",
    ),
    pytest.param(
        {"context": "hiden"},
        UnknownNameError,
        r"unknown context mode 'hiden'; did you mean 'hidden'",
        id="context",
    ),
    pytest.param(
        {"history_len": -1}, TaskError, r"history_len must be an integer >= 0, got -1", id="history"
    ),
    pytest.param({"history_len": 2.5}, TaskError, r"history_len must be an integer >= 0", id="history-type"),
    pytest.param(
        {"split": "train", "task": {"length": 1.0}},
        TaskError,
        r"pass at most one of split=, task= and tasks=",
        id="split-and-task",
    ),
    pytest.param({"tasks": []}, TaskError, r"tasks= needs at least one task", id="empty-tasks"),
]


@pytest.mark.parametrize(("kwargs", "kind", "pattern"), BAD_KWARGS)
def test_invalid_make_keyword(kwargs: dict[str, Any], kind: type[Exception], pattern: str) -> None:
    with pytest.raises(kind, match=pattern):
        gym.make_vec(CARTPOLE_ID, num_envs=2, **kwargs)
    if "tasks" not in kwargs:
        with pytest.raises(kind, match=pattern):
            gym.make(CARTPOLE_ID, **kwargs)


@pytest.mark.parametrize("num_envs", [0, -1, True])
def test_invalid_num_envs(num_envs: Any) -> None:
    with pytest.raises(TaskError, match="num_envs must be a positive integer"):
        mtml_rl.MultiTaskVectorEnv(CARTPOLE_ID, num_envs=num_envs)


def test_every_input_error_is_an_mtml_error_and_a_builtin() -> None:
    for kind in (SpecError, TaskError, UnknownNameError):
        assert issubclass(kind, MtmlError)
    assert issubclass(UnknownNameError, KeyError)
    assert str(UnknownNameError("family", "x", ["y"])) == "unknown family 'x'. Known: y."


def test_task_from_family_mapping_fills_defaults() -> None:
    env = gym.make(CARTPOLE_ID, task={"length": 1.2})
    _, info = env.reset(seed=0)
    assert info["task_params"] == {**CartPole.default_task().as_dict(), "length": 1.2}
