"""What a ``gymnasium:`` block could target in an environment: its numbers, by target.

:func:`survey` builds a Gymnasium id once and lists the numbers a spec can
address: public numeric attributes of the unwrapped environment and, for a MuJoCo
environment, each body's mass, each geom's sliding friction, each joint's damping, each
actuator's gear and the model's gravity and timestep. ``mtml-rl list --gym ID`` prints
them (:func:`survey`); the environment itself may read only some of them in ``step``.
:func:`space_problems` says what would keep a spec of the id from being built (its
observations or actions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from mtml_rl.errors import FamilyError
from mtml_rl.families.actions import ActionMap
from mtml_rl.families.checks import SIM_OBSERVATION_FIX, observes_one_vector
from mtml_rl.families.wrap.targets import is_mujoco_model

_MUJOCO_ENTRIES = (
    ("body_mass", "mjOBJ_BODY", "nbody", None, "mass of body {name} (kg)"),
    ("geom_friction", "mjOBJ_GEOM", "ngeom", 0, "sliding friction of geom {name}"),
    ("dof_damping", "mjOBJ_JOINT", "njnt", None, "damping of joint {name}"),
    ("actuator_gear", "mjOBJ_ACTUATOR", "nu", 0, "gear of actuator {name}"),
)


class Candidate(NamedTuple):
    """A number a ``gymnasium:`` block can target."""

    target: str
    """The target, as a spec writes it."""
    value: float
    """Its value in the freshly built environment (the default it would get)."""
    meaning: str
    """What it is, where known."""


class GymSurvey(NamedTuple):
    """What ``mtml-rl list --gym ID`` says of a Gymnasium id, from one build of it."""

    candidates: list[Candidate]
    """The numbers a spec can target."""
    problems: list[str]
    """What would keep a spec of the id from being built (:func:`space_problems`)."""


def survey(env_id: str, **kwargs: Any) -> GymSurvey:
    """The numbers of ``env_id``'s unwrapped environment that a spec can target, and what
    would keep a spec of it from being built, from one build of the environment.

    :param env_id: a registered Gymnasium id
    :param kwargs: keyword arguments of ``gym.make``
    """
    env = gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
    try:
        found = list(_attributes(env))
        model = getattr(env, "model", None)
        if is_mujoco_model(model):
            found += list(_mujoco_entries(model))
        problems = space_problems(env.observation_space, env.action_space, env_id)
    finally:
        env.close()
    return GymSurvey(found, problems)


def space_problems(observations: gym.Space[Any], actions: gym.Space[Any], env_id: str) -> list[str]:
    """What would keep a spec of ``env_id``, whose spaces these are, from being built (empty:
    nothing): observations that are not one vector of floats (:func:`observes_one_vector`),
    actions that are neither a bounded Box nor Discrete (:meth:`ActionMap.of`)."""
    problems = []
    if not observes_one_vector(observations):
        problems.append(f"it observes {observations}, not one vector of floats; {SIM_OBSERVATION_FIX}")
    try:
        ActionMap.of(actions, env_id)
    except FamilyError:
        problems.append(f"its action space {actions} is neither a bounded Box nor a Discrete space")
    return problems


def _attributes(env: Any) -> Iterator[Candidate]:
    for name, value in sorted(vars(env).items()):
        if name.startswith("_") or isinstance(value, (bool, np.bool_)):
            continue
        if isinstance(value, (int, float, np.integer, np.floating)):
            yield Candidate(name, float(value), "attribute")


def _mujoco_entries(model: Any) -> Iterator[Candidate]:
    import mujoco

    for field, kind, count, column, meaning in _MUJOCO_ENTRIES:
        objtype = getattr(mujoco.mjtObj, kind)
        for i in range(int(getattr(model, count))):
            name = mujoco.mj_id2name(model, objtype, i)
            if not name or (field == "body_mass" and i == 0):
                continue
            row = int(model.jnt_dofadr[i]) if field == "dof_damping" else i
            array = getattr(model, field)
            value = array[row] if column is None else array[row, column]
            index = name if column is None else f"{name}, {column}"
            yield Candidate(f"model.{field}[{index}]", float(value), meaning.format(name=name))
    yield Candidate("model.opt.gravity[2]", float(model.opt.gravity[2]), "vertical gravity (m/s^2)")
    yield Candidate("model.opt.timestep", float(model.opt.timestep), "simulation timestep (s)")
