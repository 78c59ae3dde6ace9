"""At a given task, mtml-rl's Meta-World env reproduces Meta-World's own env with that task set,
step for step: observations (as float32), rewards, Meta-World's ``success`` flag and
truncation, over whole 500-step episodes and the resets between them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from mw_helpers import metaworld_env, play, require_metaworld

import mtml_rl
from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.specs import build_splits

require_metaworld()
# Whole episodes against Meta-World's own envs: make test (test_mw_check_env runs one in test-fast)
pytestmark = pytest.mark.slow

CASES = [
    ("mtml/ML1_reach-v3", "train", 0),
    ("mtml/ML1_push-v3", "test-interpolation", 3),
    ("mtml/ML1_push-v3", "test-extrapolation", 1),  # a held-out position beyond the reset box
    ("mtml/ML10-v3", "test-extrapolation", 0),  # drawer-open-v3, a held-out environment
    ("mtml/ML10-v3", "test-extrapolation", 10),  # door-close-v3
    ("mtml/MT10-v3", "train", 7),  # the goal observed
]


def _actions(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, 4)).astype(np.float32)


@pytest.mark.parametrize(("spec_id", "split", "index"), CASES)
@pytest.mark.fast_subset(  # a held-out position, and a multi-task spec whose goal is observed
    {"spec_id": "mtml/ML1_push-v3", "split": "test-extrapolation"},
    {"spec_id": "mtml/MT10-v3"},
)
def test_single_env_reproduces_metaworld_at_a_task(spec_id: str, split: str, index: int) -> None:
    task = build_splits(mtml_rl.resolve_spec(spec_id))[split].tasks[index]
    ours = gym.make(spec_id, task=task)
    actions = _actions(600, seed=index)
    mine, theirs = play(ours, actions, 500), play(metaworld_env(task), actions, 500)
    assert len(mine) == len(theirs) == 602
    for k, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        assert np.array_equal(a.obs, b.obs), f"observation {k} differs"
        assert a.reward == b.reward or (np.isnan(a.reward) and np.isnan(b.reward)), f"reward {k} differs"
        assert (a.success, a.truncated) == (b.success, b.truncated), f"success or truncation {k} differ"
    assert mine[500].truncated
    ours.close()


def test_success_is_latched_over_the_episode() -> None:
    """``is_success`` is whether ``success`` was set at any step so far (Meta-World's rule)."""
    task = build_splits(mtml_rl.resolve_spec("mtml/ML1_reach-v3"))["train"].tasks[0]
    env = gym.make("mtml/ML1_reach-v3", task=task, context="visible")
    env.reset(seed=0)
    goal = env.unwrapped.simulator.active._target_pos.copy()
    seen, flags = False, []
    for _ in range(150):
        hand = env.unwrapped.simulator.active.tcp_center
        action = np.append(np.clip((goal - hand) * 30.0, -1.0, 1.0), 0.0).astype(np.float32)
        _, _, _, _, info = env.step(action)
        seen = seen or bool(info["success"])
        flags.append(info["is_success"])
        assert info["is_success"] == seen
    assert flags[-1], "a policy that moves the hand onto the goal reaches it"
    env.close()


def test_vector_slots_reproduce_the_single_env() -> None:
    spec = mtml_rl.resolve_spec("mtml/ML10-v3")
    tasks = list(build_splits(spec)["test-extrapolation"].tasks[::10][:3])
    venv = make_task_vector_env(spec, num_envs=3, tasks=tasks)
    actions = _actions(60, seed=5)
    obs, _ = venv.reset(seed=0)
    rows = [obs]
    for a in actions:
        obs, *_ = venv.step(np.stack([a] * 3))
        rows.append(obs)
    for i, task in enumerate(tasks):
        env = gym.make(spec.id, task=task)
        single = [env.reset(seed=i)[0]] + [env.step(a)[0] for a in actions]
        assert all(np.array_equal(r[i], s) for r, s in zip(rows, single, strict=True))
        env.close()
    venv.close()


def test_a_pooled_environment_runs_like_a_fresh_one() -> None:
    """Meta-World environments are reused across simulators (the pool): one that ran an MT10
    task with the goal observed, then one of ML1 with it hidden, reproduces a fresh one."""
    from mtml_rl.families.metaworld import sim

    for steps in (0, 30):
        venv = make_task_vector_env("mtml/MT10-v3", num_envs=10)
        venv.reset(seed=1)
        for a in _actions(steps, seed=2):
            venv.step(np.stack([a] * 10))
        venv.close()
        assert sim._POOL[("reach-v3", None)], "the reach-v3 environment went back to the pool"
        task = build_splits(mtml_rl.resolve_spec("mtml/ML1_reach-v3"))["train"].tasks[4]
        env = gym.make("mtml/ML1_reach-v3", task=task)
        actions = _actions(80, seed=3)
        mine, theirs = play(env, actions, 40), play(metaworld_env(task), actions, 40)
        assert [s.obs.tolist() for s in mine] == [s.obs.tolist() for s in theirs]
        assert np.array_equal([s.reward for s in mine], [s.reward for s in theirs], equal_nan=True)
        env.close()
