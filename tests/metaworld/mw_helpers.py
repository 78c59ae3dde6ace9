"""Helpers of the Meta-World tests: skipping without the extra, Meta-World's own env at a task,
and rollouts to compare step for step."""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

import numpy as np
import pytest

from mtml_rl.families.metaworld import MetaWorld
from mtml_rl.tasks import Task

SKIP_REASON = 'the metaworld extra is not installed (pip install "mtml-rl[metaworld]"; make installs it)'


def require_metaworld() -> None:
    """Skip the calling module when Meta-World is not installed."""
    pytest.importorskip("metaworld", reason=SKIP_REASON)


def metaworld_env(task: Task) -> Any:
    """Meta-World's own environment of ``task``, its task set through Meta-World's API
    (``set_task`` with the task's reset vector), as a user of Meta-World would."""
    import metaworld
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    name = str(task["env"])
    env = ALL_V3_ENVIRONMENTS[name]()
    data = {
        "env_cls": type(env),
        "rand_vec": MetaWorld.vector(task),
        "partially_observable": task["goal_obs"] == "hidden",
    }
    env.set_task(metaworld.Task(env_name=name, data=pickle.dumps(data)))
    return env


class Step(NamedTuple):
    """One reset (reward ``nan``) or transition."""

    obs: np.ndarray
    reward: float
    success: float
    truncated: bool


def play(env: Any, actions: np.ndarray, episode_steps: int) -> list[Step]:
    """Reset, play ``actions``; reset (without a seed) after every ``episode_steps`` steps."""
    obs, _ = env.reset(seed=0)
    out = [Step(np.asarray(obs, dtype=np.float32), float("nan"), 0.0, False)]
    for k, action in enumerate(actions):
        obs, reward, _, truncated, info = env.step(action)
        out.append(
            Step(np.asarray(obs, dtype=np.float32), float(reward), float(info["success"]), bool(truncated))
        )
        if (k + 1) % episode_steps == 0:
            obs, _ = env.reset()
            out.append(Step(np.asarray(obs, dtype=np.float32), float("nan"), 0.0, False))
    return out
