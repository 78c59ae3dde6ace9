"""Positions of a Meta-World task: fractions of an environment's reset space, the reset
vector they stand for, and the tasks Meta-World itself draws for a seed.

A Meta-World environment randomizes a *reset vector*: 3 entries (an object's or fixture's
position) or 6 (the object's position, then the goal's) drawn uniformly inside its reset
space. A task of the ``metaworld`` family writes each entry as a fraction of its range
(0: the low end, 1: the high end; beyond them: held-out positions outside the space), so
that one spec region means the same in every environment. Entries an environment does not
randomize (a range of zero width, or no goal entries) are set to 0.5: they do not change
the task.

Nothing here imports Meta-World: the ranges are data (:mod:`.table`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtml_rl.families.metaworld.table import ENVS, EnvRow
from mtml_rl.tasks.task import canonical_value

AXES = ("obj_x", "obj_y", "obj_z", "goal_x", "goal_y", "goal_z")
"""The position parameters, in reset-vector order."""
UNUSED = 0.5
"""The value of a position entry an environment does not randomize."""
GOALS_PER_ENV = 50
"""How many tasks Meta-World draws per environment (``metaworld._N_GOALS``)."""


def canonical_positions(env: str, values: dict[str, float]) -> dict[str, float]:
    """``values`` (every axis) with the entries ``env`` does not randomize set to
    :data:`UNUSED`, and the others rounded as a task stores them.

    :param env: the environment's name
    :param values: a value for every name in :data:`AXES`
    """
    row = ENVS[env]
    out = {}
    for k, axis in enumerate(AXES):
        used = k < len(row.low) and row.high[k] > row.low[k]
        out[axis] = float(canonical_value(values[axis])) if used else UNUSED
    return out


def reset_vector(env: str, values: dict[str, float]) -> np.ndarray:
    """The reset vector of positions given as fractions (``low + u * (high - low)``).

    :param env: the environment's name
    :param values: a fraction for every name in :data:`AXES`
    """
    row = ENVS[env]
    low, high = np.array(row.low), np.array(row.high)
    u = np.array([values[axis] for axis in AXES[: len(row.low)]], dtype=np.float64)
    return low + u * (high - low)


def fractions(env: str, vector: np.ndarray) -> dict[str, float]:
    """Inverse of :func:`reset_vector`: a reset vector as fractions of each range (unused
    entries at :data:`UNUSED`).

    :param env: the environment's name
    :param vector: the reset vector (3 or 6 entries)
    """
    row = ENVS[env]
    out = {}
    for k, axis in enumerate(AXES):
        width = row.high[k] - row.low[k] if k < len(row.low) else 0.0
        out[axis] = float((vector[k] - row.low[k]) / width) if width > 0 else UNUSED
    return out


def too_close(row: EnvRow, vector: np.ndarray) -> bool:
    """Whether the environment's reset would refuse ``vector``: object and goal (or its fixed
    target) closer on the table's plane than its ``min_distance``. Meta-World's reset draws
    again then; with a task's fixed vector it would loop forever, so such values are no task.

    :param row: the environment's table row
    :param vector: a reset vector
    """
    if row.min_distance <= 0.0:
        return False
    target = np.array(row.target) if row.target is not None else vector[3:5]
    return bool(np.linalg.norm(vector[:2] - target) < row.min_distance)


def official_vectors(envs: Sequence[str], seed: int) -> dict[str, list[np.ndarray]]:
    """The reset vectors of the tasks Meta-World's benchmarks build for ``envs`` and ``seed``,
    bit for bit, :data:`GOALS_PER_ENV` per environment.

    Meta-World (``metaworld._make_tasks``) seeds NumPy's global generator once and resets each
    environment in turn 50 times, keeping the last reset vector of each reset. A reset runs
    the environment's ``reset_model`` twice (once itself, once through Gymnasium's
    ``MujocoEnv.reset``), and each run draws uniform vectors until one passes the distance
    check. A ``RandomState`` seeded alike replays that stream without touching the global
    generator.

    :param envs: environment names, in the benchmark's order
    :param seed: the benchmark's seed
    """
    stream = np.random.RandomState(seed)
    out: dict[str, list[np.ndarray]] = {}
    for env in envs:
        row = ENVS[env]
        low, high = np.array(row.low), np.array(row.high)
        vectors = []
        for _ in range(GOALS_PER_ENV):
            for _ in range(2):
                vector = stream.uniform(low, high, size=low.size)
                while too_close(row, vector):
                    vector = stream.uniform(low, high, size=low.size)
            vectors.append(vector)
        out[env] = vectors
    return out
