"""Every numpy-family id passes Gymnasium's and SB3's ``check_env`` with warnings as errors.

Covered: every split (tasks drawn by the env's own scheduler), every context mode, with
and without history, and, with fixed tasks set through ``set_task``, at least 20 tasks drawn
from all splits plus the corners of every region (:func:`corner_tasks`). Each environment is
built once per (id, context, history) and iterates its tasks; the hidden-context sweep
also rolls every task out for a few steps and checks each observation against the space.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from check_env_helpers import warnings_as_errors
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mtml_rl
from mtml_rl.envs import MultiTaskEnv
from mtml_rl.specs import TaskSpec, build_splits
from mtml_rl.tasks.task import canonical_value

CONTEXTS = ("hidden", "visible", "privileged")
HISTORY_LEN = 4
SAMPLED_TASKS = 20
ROLLOUT_STEPS = 20


def both_checks(env: gym.Env[Any, Any], *, render: bool) -> None:
    """Gymnasium's and SB3's ``check_env`` with warnings as errors."""
    with warnings_as_errors():
        gym_check_env(env, skip_render_check=not render)
        sb3_check_env(env, warn=True)


def corner_tasks(spec: TaskSpec) -> list[dict[str, float]]:
    """The corners of every region, as ``task=`` mappings.

    - train: every combination of the end points of every parameter's train intervals;
    - extrapolation: every end point of one parameter's held-out intervals, the other
      parameters at the lowest and at the highest corner of their train region;
    - combinatorial: every corner of the held-out box, the rest at the train midpoint.
    """
    params = spec.parameters
    ends = [sorted({x for i in p.train.intervals for x in (i.low, i.high)}) for p in params]
    corners = [dict(zip(spec.varying, values, strict=True)) for values in itertools.product(*ends)]
    for p in params:
        held = [] if p.extrapolation is None else p.extrapolation.intervals
        for value, side in itertools.product([x for i in held for x in (i.low, i.high)], ("low", "high")):
            base = {q.name: getattr(q.train, side) for q in params}
            corners.append({**base, p.name: value})
    box = spec.combinatorial
    for values in itertools.product(*[(i.low, i.high) for i in box.values()]):
        corners.append({**{p.name: p.center for p in params}, **dict(zip(box, values, strict=True))})
    return corners


def sampled_tasks(spec: TaskSpec, seed: int = 0) -> list[dict[str, float]]:
    """At least :data:`SAMPLED_TASKS` tasks, as many from every split, chosen with a seeded generator."""
    rng = np.random.default_rng(seed)
    splits = build_splits(spec)
    per_split = -(-SAMPLED_TASKS // len(splits))
    chosen = []
    for split in splits.values():
        k = min(per_split, len(split))
        chosen += [split.tasks[i].as_dict() for i in rng.choice(len(split), size=k, replace=False)]
    return chosen


def roll_out(env: gym.Env[Any, Any], task: dict[str, float], seed: int) -> None:
    """Run ``task`` for a short while; every observation lies in the space, rewards are finite."""
    obs, info = env.reset(seed=seed, options={"task": task})
    env.action_space.seed(seed)
    assert {k: info["task_params"][k] for k in task} == {k: canonical_value(v) for k, v in task.items()}
    for _ in range(ROLLOUT_STEPS):
        assert env.observation_space.contains(obs), f"{obs} outside {env.observation_space}"
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(float(reward))
        if terminated or truncated:
            obs, info = env.reset()


def skip_unless_context_shown(spec_id: str, context: str) -> None:
    """Skip ``visible``/``privileged`` runs of specs that declare ``privileged_context: false``."""
    if context != "hidden" and not mtml_rl.resolve_spec(spec_id).privileged_context:
        pytest.skip(f"{spec_id} declares privileged_context: false")


def _make(spec_id: str, **kwargs: Any) -> MultiTaskEnv:
    env = gym.make(spec_id, **kwargs).unwrapped
    assert isinstance(env, MultiTaskEnv)
    return env


@pytest.mark.parametrize("history_len", [0, HISTORY_LEN])
@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.fast_subset(  # every family once (rendering included), every layout at least once
    {"numpy_spec_id": "mtml/Acrobot-v0", "context": "hidden", "history_len": HISTORY_LEN},
    {"numpy_spec_id": "mtml/CartPole-v0", "context": "privileged", "history_len": HISTORY_LEN},
    {"numpy_spec_id": "mtml/MountainCarContinuous-v0", "context": "visible", "history_len": 0},
    {"numpy_spec_id": "mtml/Pendulum-v0", "context": "visible", "history_len": HISTORY_LEN},
    {"numpy_spec_id": "mtml/PointNav-v0", "context": "privileged", "history_len": 0},
)
def test_every_split_passes_check_env(numpy_spec_id: str, context: str, history_len: int) -> None:
    """Split envs, tasks drawn by the env's own scheduler at every reset; rendering too."""
    skip_unless_context_shown(numpy_spec_id, context)
    splits = build_splits(mtml_rl.resolve_spec(numpy_spec_id))
    for split in [*splits, "test"]:
        env = _make(numpy_spec_id, split=split, context=context, history_len=history_len)
        both_checks(env, render=True)


def _check_tasks(spec_id: str, context: str, history_len: int, *, roll: bool) -> None:
    """Both checks on every sampled and corner task; with ``roll``, a short rollout of each."""
    spec = mtml_rl.resolve_spec(spec_id)
    env = _make(spec_id, context=context, history_len=history_len)
    wrapped = gym.make(spec_id, context=context, history_len=history_len)
    for k, task in enumerate(sampled_tasks(spec) + corner_tasks(spec)):
        env.set_task(task)
        both_checks(env, render=False)
        if roll:
            roll_out(wrapped, task, seed=k)


@pytest.mark.fast_subset({"numpy_spec_id": ("mtml/CartPole-v0", "mtml/PointNav-v0")})
def test_sampled_tasks_and_corners_pass_check_env_hidden(numpy_spec_id: str) -> None:
    _check_tasks(numpy_spec_id, "hidden", 0, roll=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("context", "history_len"),
    [(c, h) for c in CONTEXTS for h in (0, HISTORY_LEN) if (c, h) != ("hidden", 0)],
)
def test_sampled_tasks_and_corners_pass_check_env(numpy_spec_id: str, context: str, history_len: int) -> None:
    skip_unless_context_shown(numpy_spec_id, context)
    _check_tasks(numpy_spec_id, context, history_len, roll=False)


def test_corner_tasks_cover_every_region_end_point(numpy_spec_id: str) -> None:
    spec = mtml_rl.resolve_spec(numpy_spec_id)
    corners = corner_tasks(spec)
    for p in spec.parameters:
        seen = {c[p.name] for c in corners}
        regions = [p.train] + ([p.extrapolation] if p.extrapolation is not None else [])
        for interval in (i for r in regions for i in r.intervals):
            assert {interval.low, interval.high} <= seen


def test_context_of_held_out_corners_stays_in_the_context_space(numpy_spec_id: str) -> None:
    """Extrapolation contexts leave [-1, 1] but never the declared context space."""
    skip_unless_context_shown(numpy_spec_id, "privileged")
    spec = mtml_rl.resolve_spec(numpy_spec_id)
    env = _make(numpy_spec_id, context="privileged")
    space = env.observation_space["context"]  # type: ignore[index]
    for task in corner_tasks(spec):
        obs, _ = env.reset(seed=0, options={"task": task})
        assert space.contains(obs["context"]), (task, obs["context"])
