"""Splits: deterministic from the seed, disjoint by task and by region, sized and hashed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import mtml_rl
from mtml_rl.errors import SpecError, UnknownNameError
from mtml_rl.specs import Splits, TaskSpec, build_splits
from mtml_rl.specs import splits as splits_module
from mtml_rl.specs.spec import SPLIT_NAMES
from mtml_rl.tasks import Task

TEST_SPLITS = SPLIT_NAMES[1:]


def _spec(spec_id: str) -> TaskSpec:
    return mtml_rl.resolve_spec(spec_id)


def _fresh_splits(spec: TaskSpec, monkeypatch: pytest.MonkeyPatch) -> Splits:
    """Build the splits again from scratch, bypassing the content-hash cache."""
    monkeypatch.setattr(splits_module, "_CACHE", {})
    return build_splits(spec)


def _in_train_region(spec: TaskSpec, task: Task) -> bool:
    return all(p.train.contains(task[p.name]) for p in spec.parameters)


def _in_combinatorial_box(spec: TaskSpec, task: Task) -> bool:
    box = spec.combinatorial
    return bool(box) and all(interval.contains(task[name]) for name, interval in box.items())


# -- determinism --------------------------------------------------------------------------------
def test_same_spec_gives_the_same_splits(numpy_spec_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(numpy_spec_id)
    first = _fresh_splits(spec, monkeypatch)
    second = _fresh_splits(mtml_rl.load_spec_file(spec.source), monkeypatch)
    assert first is not second
    assert first.hashes() == second.hashes()
    for name in first:
        assert first[name].tasks == second[name].tasks


@pytest.mark.fast_subset({"numpy_spec_id": "mtml/CartPole-v0"})  # a fresh interpreter each
def test_splits_are_the_same_in_a_fresh_interpreter(numpy_spec_id: str) -> None:
    """Nothing depends on process state (hash randomization, import order, caches)."""
    code = (
        "import json, mtml_rl;"
        f"print(json.dumps(mtml_rl.build_splits(mtml_rl.resolve_spec({numpy_spec_id!r})).hashes()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "7"}
    )
    assert json.loads(out.stdout) == build_splits(_spec(numpy_spec_id)).hashes()


def test_another_seed_gives_other_splits(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    other = build_splits(dataclasses.replace(spec, seed=spec.seed + 1))
    mine = build_splits(spec)
    for name in mine:
        assert other[name].hash != mine[name].hash
        assert not set(other[name].tasks) & set(mine[name].tasks)


# -- sizes and hashes ---------------------------------------------------------------------------
def test_split_sizes_are_as_in_the_spec(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    splits = build_splits(spec)
    assert set(splits) == {name for name, size in spec.split_sizes.items() if size > 0}
    for name in splits:
        assert len(splits[name]) == spec.split_sizes[name]
        assert len(set(splits[name].tasks)) == len(splits[name]), f"{name} holds duplicate tasks"


def test_empty_split_is_absent_and_named_in_the_error(spec_file: Callable[..., Path]) -> None:
    def no_combinatorial(data: dict[str, Any]) -> None:
        data["splits"]["test-combinatorial"] = 0

    splits = build_splits(mtml_rl.load_spec_file(spec_file(no_combinatorial)))
    assert "test-combinatorial" not in splits
    with pytest.raises(UnknownNameError, match="Splits with size 0 in the spec are absent"):
        splits["test-combinatorial"]


def test_hashes_are_recorded_and_depend_on_the_tasks(numpy_spec_id: str) -> None:
    splits = build_splits(_spec(numpy_spec_id))
    hashes = splits.hashes()
    assert list(hashes) == list(splits)
    for name, value in hashes.items():
        split = splits[name]
        assert value == split.hash
        assert len(value) == 16 and int(value, 16) >= 0
        assert dataclasses.replace(split, tasks=split.tasks[1:]).hash != value
        assert dataclasses.replace(split, tasks=split.tasks[::-1]).hash != value or len(split) == 1
        assert dataclasses.replace(split, name="other").hash != value
    assert len(set(hashes.values())) == len(hashes)


def test_test_is_the_union_of_the_held_out_splits(numpy_spec_id: str) -> None:
    splits = build_splits(_spec(numpy_spec_id))
    union = [t for name in TEST_SPLITS if name in splits for t in splits[name].tasks]
    assert list(splits["test"].tasks) == union


# -- disjointness -------------------------------------------------------------------------------
def test_train_and_every_test_split_are_disjoint(numpy_spec_id: str) -> None:
    splits = build_splits(_spec(numpy_spec_id))
    train = set(splits["train"].tasks)
    for name in TEST_SPLITS:
        if name in splits:
            assert not train & set(splits[name].tasks), f"{name} shares tasks with train"
    test_ids = [t.id for name in TEST_SPLITS if name in splits for t in splits[name].tasks]
    assert len(test_ids) == len(set(test_ids)), "the held-out splits share tasks"


def test_train_and_interpolation_tasks_are_in_the_train_region_outside_the_box(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    splits = build_splits(spec)
    for name in ("train", "test-interpolation"):
        for task in splits[name].tasks if name in splits else ():
            assert _in_train_region(spec, task), f"{name} task {task.short()} leaves the train region"
            assert not _in_combinatorial_box(spec, task), f"{name} task {task.short()} is in the held-out box"


def test_extrapolation_tasks_have_exactly_one_parameter_outside_the_train_region(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    splits = build_splits(spec)
    if "test-extrapolation" not in splits:
        pytest.skip(f"{numpy_spec_id} has no extrapolation split")
    for task in splits["test-extrapolation"].tasks:
        outside = [p for p in spec.parameters if not p.train.contains(task[p.name])]
        assert len(outside) == 1, f"{task.short()}: parameters outside the train region: {outside}"
        held = outside[0]
        assert held.extrapolation is not None and held.extrapolation.contains(task[held.name])


def test_combinatorial_tasks_are_new_combinations_of_seen_values(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    splits = build_splits(spec)
    if "test-combinatorial" not in splits:
        pytest.skip(f"{numpy_spec_id} has no combinatorial split")
    for task in splits["test-combinatorial"].tasks:
        assert _in_combinatorial_box(spec, task), task.short()
        assert _in_train_region(spec, task), f"each value must be a training value: {task.short()}"
    train = splits["train"].tasks
    assert not any(_in_combinatorial_box(spec, t) for t in train)
    for name, interval in spec.combinatorial.items():
        seen = [t for t in train if interval.contains(t[name])]
        assert seen, f"training never sees {name} in {interval.as_list()}"


def test_parameters_that_do_not_vary_are_fixed_or_default(spec_file: Callable[..., Path]) -> None:
    def fix_gravity(data: dict[str, Any]) -> None:
        data["fixed"] = {"gravity": 5.0}

    spec = mtml_rl.load_spec_file(spec_file(fix_gravity))
    defaults = spec.family_cls.default_task().as_dict()
    for split in build_splits(spec).values():
        for task in split.tasks:
            assert task["gravity"] == 5.0
            assert task["cart_mass"] == defaults["cart_mass"]
            assert task["pole_mass"] == defaults["pole_mass"]


# -- environments draw from their split ---------------------------------------------------------
@pytest.mark.parametrize("split", ["train", "test-extrapolation", "test"])
def test_split_env_draws_only_tasks_of_its_split(numpy_spec_id: str, split: str) -> None:
    splits = build_splits(_spec(numpy_spec_id))
    if split not in splits and split != "test":
        pytest.skip(f"{numpy_spec_id} has no {split} split")
    allowed = {t.id for t in splits[split].tasks}
    env = gym.make(numpy_spec_id, split=split)
    drawn = {env.reset(seed=0 if k == 0 else None)[1]["task"] for k in range(200)}
    assert drawn <= allowed
    assert len(drawn) > min(len(allowed), 20) // 2, "the scheduler should spread over the split"


def test_validation_tasks_are_fresh_train_region_draws(numpy_spec_id: str) -> None:
    spec = _spec(numpy_spec_id)
    tasks = splits_module.validation_tasks(spec, 8, seed=3)
    assert len(set(tasks)) == 8
    assert all(_in_train_region(spec, t) and not _in_combinatorial_box(spec, t) for t in tasks)
    every_split = {t for split in build_splits(spec).values() for t in split.tasks}
    assert not set(tasks) & every_split
    assert splits_module.validation_tasks(spec, 8, seed=3) == tasks
    assert not set(splits_module.validation_tasks(spec, 8, seed=4)) & set(tasks)


def test_validation_tasks_refuse_a_bad_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        splits_module.validation_tasks(_spec("mtml/PointNav-v0"), 0, seed=0)


def test_a_region_of_single_points_has_no_validation_tasks_and_says_why() -> None:
    """HalfCheetahDir's two directions are both train tasks: nothing is left to draw."""
    with pytest.raises(SpecError, match=r"too few distinct tasks left \(a region of single points"):
        splits_module.validation_tasks(_spec("mtml/HalfCheetahDir-v0"), 1, seed=0)
