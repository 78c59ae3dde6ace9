"""Every Meta-World id passes Gymnasium's and SB3's env checkers, warnings as errors (but the
two named in :data:`check_env_helpers.ALLOWED_WARNINGS`), in each split and context mode: five tasks
per ML1 id (together covering its three splits and three context modes) and every
environment of MT10 and ML10 (ML45 and MT50: five tasks each).

Meta-World's own envs raise two more warnings, which ours do not: "The obs returned by the
`reset()` method is not within the observation space" (its goal-observable observation leaves
its cached space) and "A Box observation space maximum and minimum values are equal" (the
hidden goal's [0, 0])."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from check_env_helpers import warnings_as_errors
from gymnasium.utils.env_checker import check_env as gym_check_env
from mw_helpers import require_metaworld
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mtml_rl
from mtml_rl.envs.sim_env import SimMultiTaskEnv
from mtml_rl.families.metaworld import BENCHMARKS, ENVS
from mtml_rl.specs import build_splits
from mtml_rl.tasks import Task

require_metaworld()

MODES = ("hidden", "visible", "privileged")
ML1_IDS = [f"mtml/ML1_{n.removesuffix('-v3').replace('-', '_')}-v3" for n in ENVS]
FAST_ML1 = ("mtml/ML1_reach-v3",)
ML1_PLAN = (
    ("train", 0, "hidden"),
    ("test-interpolation", 0, "visible"),
    ("test-extrapolation", 0, "privileged"),
    ("train", 1, "privileged"),
    ("test-extrapolation", 1, "hidden"),
)
"""Five tasks of an ML1 id: (split, index, context), every split and mode at least once."""


def both_checks(spec_id: str, task: Task, context: str) -> None:
    """Both checkers on the unwrapped env of ``task``, warnings as errors."""
    with warnings_as_errors():
        env = gym.make(spec_id, task=task, context=context)
        assert isinstance(env.unwrapped, SimMultiTaskEnv)
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs) and info["task"] == task.id
        env.close()


def _ml1(spec_id: str) -> None:
    splits = build_splits(mtml_rl.resolve_spec(spec_id))
    for split, index, context in ML1_PLAN:
        both_checks(spec_id, splits[split].tasks[index], context)


@pytest.mark.parametrize("spec_id", FAST_ML1)
def test_ml1_checks(spec_id: str) -> None:
    _ml1(spec_id)


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", [i for i in ML1_IDS if i not in FAST_ML1])
def test_every_ml1_id_checks(spec_id: str) -> None:
    _ml1(spec_id)


def _one_task_per_env(spec_id: str) -> list[tuple[str, Task]]:
    """(split, task): the first task of every environment in every split."""
    out: dict[tuple[str, Any], tuple[str, Task]] = {}
    for name, split in build_splits(mtml_rl.resolve_spec(spec_id)).items():
        for task in split:
            out.setdefault((name, task["env"]), (name, task))
    return list(out.values())


@pytest.mark.slow
@pytest.mark.parametrize("bench", ["MT10", "ML10"])
def test_every_environment_of_mt10_and_ml10_checks(bench: str) -> None:
    spec_id = f"mtml/{bench}-v3"
    chosen = _one_task_per_env(spec_id)
    train, test = BENCHMARKS[bench]
    assert {str(t["env"]) for _, t in chosen} == {*train, *test}
    assert {s for s, _ in chosen} == set(build_splits(mtml_rl.resolve_spec(spec_id)))
    for k, (_, task) in enumerate(chosen):
        both_checks(spec_id, task, MODES[k % 3])


@pytest.mark.slow
@pytest.mark.parametrize("bench", ["ML45", "MT50"])
def test_ml45_and_mt50_check(bench: str) -> None:
    spec_id = f"mtml/{bench}-v3"
    chosen = _one_task_per_env(spec_id)
    rng = np.random.default_rng(0)
    picks = [chosen[k] for k in sorted(rng.choice(len(chosen), size=5, replace=False))]
    for name in build_splits(mtml_rl.resolve_spec(spec_id)):  # every split at least once
        if name not in {s for s, _ in picks}:
            picks.append(next(c for c in chosen if c[0] == name))
    for k, (_, task) in enumerate(picks):
        both_checks(spec_id, task, MODES[k % 3])


def test_the_vector_env_is_registered_as_no_vector_entry_point() -> None:
    """Meta-World ids build one simulator per env through ``gym.make``; the batched
    ``SimVectorEnv`` is ``make_task_vector_env``'s (as every simulator family's)."""
    spec = gym.spec("mtml/MT10-v3")
    assert spec.entry_point == "mtml_rl.envs.sim_env:SimMultiTaskEnv" and spec.vector_entry_point is None
