"""Helpers of the Meta-World tests: skipping without the extra, Meta-World's own env at a task,
checkers with warnings as errors, and rollouts to compare step for step."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import pytest

from mtml_rl.families.metaworld import MetaWorld
from mtml_rl.tasks import Task

SKIP_REASON = 'the metaworld extra is not installed (pip install "mtml-rl[metaworld]"; make installs it)'


def require_metaworld() -> None:
    """Skip the calling module when Meta-World is not installed."""
    pytest.importorskip("metaworld", reason=SKIP_REASON)


ALLOWED_WARNINGS = (
    # Gymnasium's own env tests ignore these two (CHECK_ENV_IGNORE_WARNINGS): object
    # positions and orientations are unbounded in Meta-World's own observation space too.
    r".*A Box observation space minimum value is -infinity",
    r".*A Box observation space maximum value is infinity",
)
"""The only warnings the checkers may raise on mtml-rl's Meta-World envs. Meta-World's own
envs raise two more, which ours do not: "The obs returned by the `reset()` method is not
within the observation space" (its goal-observable observation leaves its cached space) and
"A Box observation space maximum and minimum values are equal" (the hidden goal's [0, 0])."""


@contextmanager
def warnings_as_errors() -> Iterator[None]:
    """Every warning is an error but :data:`ALLOWED_WARNINGS`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pattern in ALLOWED_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        yield


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
