"""Meta-World tasks from users: one clear error for an unknown environment (with a
suggestion), a region naming no environment, positions the reset refuses; the scheduler
spreads slots over environments as Meta-World's multi-task vector env does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

import mtml_rl
from mtml_rl.envs.engine import task_groups
from mtml_rl.errors import RejectedTask, SpecError, TaskError
from mtml_rl.families.metaworld import BENCHMARKS, MetaWorld
from mtml_rl.specs import build_splits, parse_spec
from mtml_rl.specs.spec import spec_dir

ML10 = yaml.safe_load((spec_dir() / "metaworld" / "ML10.yaml").read_text())


def test_an_unknown_environment_name_is_one_error_with_a_suggestion() -> None:
    with pytest.raises(TaskError, match="'reach-v4' is not one of its values; did you mean 'reach-v3'"):
        gym.make("mtml/ML1_reach-v3", task={"env": "reach-v4"})
    with pytest.raises(TaskError, match="did you mean 'pick-place-v3'"):
        MetaWorld.task({"env": "pick-plce-v3"})


def test_a_region_naming_an_unknown_environment_is_one_spec_error() -> None:
    data = copy.deepcopy(ML10)
    data["parameters"]["env"]["extrapolation"][0] = "drawer-opn-v3"
    with pytest.raises(
        SpecError, match="'drawer-opn-v3' is not a value of 'env'; did you mean 'drawer-open-v3'"
    ) as e:
        parse_spec(data, source="ML10.yaml")
    assert e.value.field == "parameters.env.extrapolation"


def test_an_unknown_spec_id_suggests_the_closest() -> None:
    with pytest.raises(gym.error.Error, match="ML1_reach"):
        gym.make("mtml/ML1_reech-v3")


def test_protocol_sizes_must_split_evenly_over_environments(tmp_path: Path) -> None:
    data = copy.deepcopy(ML10)
    data["splits"]["train"] = 55
    path = tmp_path / "ML10.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="make its size a multiple of 10 up to 500"):
        build_splits(mtml_rl.resolve_spec(path))


def test_positions_the_reset_would_refuse_are_no_task() -> None:
    """reach-v3 keeps object and goal 0.15 m apart: closer positions would make Meta-World's
    reset loop forever, so they are rejected (splits draw again) instead of built."""
    too_close = {"env": "reach-v3", "obj_x": 0.5, "obj_y": 1.0, "goal_x": 0.5, "goal_y": 0.0}
    with pytest.raises(RejectedTask, match=r"closer than 0\.15 m"):
        MetaWorld.task(too_close)
    with pytest.raises(RejectedTask):
        gym.make("mtml/ML1_reach-v3", task=too_close)


def test_positions_an_environment_does_not_randomize_are_canonical() -> None:
    a = MetaWorld.task({"env": "drawer-open-v3", "obj_x": 0.25, "goal_x": 0.9, "obj_y": 0.1})
    b = MetaWorld.task({"env": "drawer-open-v3", "obj_x": 0.25})
    assert a == b and a["goal_x"] == 0.5 and a["obj_y"] == 0.5  # no goal entries; y fixed at 0.9 m


def _slots_envs(num_envs: int) -> list[Any]:
    from mtml_rl.envs.factory import make_task_vector_env

    pytest.importorskip("metaworld", reason="the metaworld extra is not installed")
    venv = make_task_vector_env("mtml/MT10-v3", num_envs=num_envs)
    seen: list[set[Any]] = [set() for _ in range(num_envs)]
    venv.reset(seed=3)
    for _ in range(3):
        for i, task in enumerate(venv.current_tasks()):
            seen[i].add(task["env"])
        venv.reset()
    venv.close()
    return seen


@pytest.mark.slow
def test_the_scheduler_gives_each_environment_its_slots() -> None:
    envs = BENCHMARKS["MT10"][0]
    assert _slots_envs(10) == [{env} for env in envs]


def test_fewer_slots_than_environments_draw_from_every_task() -> None:
    spec = mtml_rl.resolve_spec("mtml/MT10-v3")
    tasks = build_splits(spec)["train"].tasks
    groups = task_groups(spec, tasks, 20)
    assert groups is not None and groups.size.tolist() == [50] * 10
    assert task_groups(spec, tasks, 4) is None and task_groups(spec, tasks, 1) is None
    assert task_groups(mtml_rl.resolve_spec("mtml/ML1_push-v3"), tasks[:5], 20) is None
    members = groups.members[groups.start[3] : groups.start[3] + 50]
    assert {tasks[k]["env"] for k in members} == {BENCHMARKS["MT10"][0][3]}
    assert np.array_equal(np.sort(groups.members), np.arange(500))
