"""Gymnasium's v5 MuJoCo locomotion steps, cut around their physics.

A step of ``HalfCheetah-v5``, ``Hopper-v5``, ``Walker2d-v5`` or ``Ant-v5`` reads the body's
position, sets the controls and integrates ``frame_skip`` MuJoCo steps
(``do_simulation``), reads the position again and builds the observation, reward,
termination and ``info`` with the environment's own helpers (``_get_obs``, ``_get_rew``,
``is_healthy``; HalfCheetah's, the cheapest, are written out here in v5's operations). A
:class:`SplitStep` runs that same code in three parts:

- :meth:`SplitStep.before`: the position before and the controls (Python);
- :meth:`SplitStep.integrate`: ``mj_step`` and ``mj_rnePostConstraint`` only, two calls
  into MuJoCo that release the GIL;
- :meth:`SplitStep.after`: the position after, observation, reward, termination, ``info``.

A vector env can thus integrate many simulators on threads while all the Python of a
step stays in the calling thread. The results are those of ``env.step`` bit for bit (a test
compares them); a split is offered only for these exact classes (a subclass may step
differently), never for ``render_mode="human"`` (whose step renders), and only where the
installed Gymnasium's code that it reproduces is the code it was written from
(:data:`REFERENCE_SOURCE_DIGESTS`: the class's ``step``, ``MujocoEnv``'s simulation and, for
the written-out HalfCheetah, its helpers); a Gymnasium that changed any of them keeps its own
step, slower and right.

Nothing here imports MuJoCo or Gymnasium's MuJoCo environments before :func:`split_step`
is called, so ``import mtml_rl`` works without the ``mujoco`` extra.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from mtml_rl.sources import has_source

StepOut = tuple[Any, Any, bool, bool, dict[str, Any]]
"""A simulator's ``(obs, reward, terminated, truncated, info)``."""

REFERENCE_SOURCE_DIGESTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {  # the same sources in Gymnasium 1.1.0 to 1.4.0
        "mujoco_env.MujocoEnv.do_simulation": frozenset(
            {"e74c4bf660b003c1e64af57ce498a999ac4fa2166b3bef245533058f25b22646"}
        ),
        "mujoco_env.MujocoEnv._step_mujoco_simulation": frozenset(
            {"04a7e4f3d926707199a707f04fabe4df687d82c52d1e42e2fe0a43aa8c381777"}
        ),
        "mujoco_env.MujocoEnv.dt": frozenset(
            {"3042f0c475f0b445898f8c502a8ff790363bfc43caaac2c4a8d98415f2af31c2"}
        ),
        "half_cheetah_v5.HalfCheetahEnv.step": frozenset(
            {"65da057ac53b778e76c30ffc6964d75cd14aee58ee63ea4b44a0c2bf7d9a4469"}
        ),
        "half_cheetah_v5.HalfCheetahEnv._get_obs": frozenset(
            {"f3e1a6c9f37618a88e7b30b11a8ec741aca7d1dd16c6a8e68c362b8d13b42150"}
        ),
        "half_cheetah_v5.HalfCheetahEnv._get_rew": frozenset(
            {"e0fc475d356b053082e9202e15ef5fa1f7a9781831ca12ae1512c11a65c6638d"}
        ),
        "half_cheetah_v5.HalfCheetahEnv.control_cost": frozenset(
            {"07a5f746a15dd7f96ee6086a2af8afea8c70aff696ece43a8b0fc1f84cfc763f"}
        ),
        "hopper_v5.HopperEnv.step": frozenset(
            {"28774ecde803f4758441743a1fcf861dffeb76928268612969f8e02e8a0c1d28"}
        ),
        "walker2d_v5.Walker2dEnv.step": frozenset(
            {"28774ecde803f4758441743a1fcf861dffeb76928268612969f8e02e8a0c1d28"}
        ),
        "ant_v5.AntEnv.step": frozenset({"a00a02b332b27c958f86362063271193df026a30fbeedfbeedb27f0f0d515a9d"}),
    }
)
"""SHA-256 of the sources (``inspect.getsource``) of the Gymnasium code a split step
reproduces, by ``module.Class.attribute`` under ``gymnasium.envs.mujoco``."""

SIMULATION_SOURCES = ("mujoco_env.MujocoEnv.do_simulation", "mujoco_env.MujocoEnv._step_mujoco_simulation")
"""What :meth:`SplitStep.integrate` does in place of ``do_simulation``."""

CHEETAH_INLINE_SOURCES = (
    "mujoco_env.MujocoEnv.dt",
    "half_cheetah_v5.HalfCheetahEnv._get_obs",
    "half_cheetah_v5.HalfCheetahEnv._get_rew",
    "half_cheetah_v5.HalfCheetahEnv.control_cost",
)
"""The helpers :func:`_cheetah_after_inline` writes out."""


@functools.cache
def reference_source_matches(name: str) -> bool:
    """Whether the installed Gymnasium's ``name`` (a key of :data:`REFERENCE_SOURCE_DIGESTS`)
    has a source this module reproduces (``False`` also where it has no source to read)."""
    module_name, class_name, attribute = name.split(".")
    owner = getattr(importlib.import_module(f"gymnasium.envs.mujoco.{module_name}"), class_name)
    return has_source(inspect.getattr_static(owner, attribute), REFERENCE_SOURCE_DIGESTS[name])


def reference_sources_match(names: Iterable[str]) -> bool:
    """Whether every one of ``names`` matches (:func:`reference_source_matches`)."""
    return all(reference_source_matches(name) for name in names)


def _x_position(split: SplitStep) -> Any:
    return split.qpos[0]


def _xy_position(split: SplitStep) -> Any:
    return split.sim.data.body(split.sim._main_body).xpos[:2].copy()


def _cheetah_after(split: SplitStep, action: Any, x_before: Any) -> StepOut:
    """The rest of ``HalfCheetahEnv.step`` (Gymnasium 1.x, v5) after ``do_simulation``."""
    sim = split.sim
    x_position_after = split.qpos[0]
    x_velocity = (x_position_after - x_before) / sim.dt
    observation = sim._get_obs()
    reward, reward_info = sim._get_rew(x_velocity, action)
    info = {"x_position": x_position_after, "x_velocity": x_velocity, **reward_info}
    return observation, reward, False, False, info


def _cheetah_after_inline(split: SplitStep, action: Any, x_before: Any) -> StepOut:
    """:func:`_cheetah_after` with ``dt``, ``_get_obs`` and ``_get_rew`` written out in v5's own
    operations and order (``np.sum`` is ``np.add.reduce``), for the default observation
    (positions without the x coordinate): a fraction of the Python time."""
    sim, qpos = split.sim, split.qpos
    x_position_after = qpos[0]
    x_velocity = (x_position_after - x_before) / (split.opt.timestep * sim.frame_skip)
    observation = _concatenate((qpos[1:], split.qvel))
    forward_reward = sim._forward_reward_weight * x_velocity
    ctrl_cost = sim._ctrl_cost_weight * _sum(_square(action))
    info = {
        "x_position": x_position_after,
        "x_velocity": x_velocity,
        "reward_forward": forward_reward,
        "reward_ctrl": -ctrl_cost,
    }
    return observation, forward_reward - ctrl_cost, False, False, info


_concatenate, _sum, _square, _copyto = np.concatenate, np.add.reduce, np.square, np.copyto


def _hopper_after(split: SplitStep, action: Any, x_before: Any) -> StepOut:
    """The rest of ``HopperEnv.step`` and ``Walker2dEnv.step`` (v5) after ``do_simulation``."""
    sim = split.sim
    x_position_after = split.qpos[0]
    x_velocity = (x_position_after - x_before) / sim.dt
    observation = sim._get_obs()
    reward, reward_info = sim._get_rew(x_velocity, action)
    terminated = (not sim.is_healthy) and sim._terminate_when_unhealthy
    info = {
        "x_position": x_position_after,
        "z_distance_from_origin": split.qpos[1] - sim.init_qpos[1],
        "x_velocity": x_velocity,
        **reward_info,
    }
    return observation, reward, terminated, False, info


def _ant_after(split: SplitStep, action: Any, xy_before: Any) -> StepOut:
    """The rest of ``AntEnv.step`` (v5) after ``do_simulation``."""
    sim = split.sim
    xy_position_after = sim.data.body(sim._main_body).xpos[:2].copy()
    xy_velocity = (xy_position_after - xy_before) / sim.dt
    x_velocity, y_velocity = xy_velocity
    observation = sim._get_obs()
    reward, reward_info = sim._get_rew(x_velocity, action)
    terminated = (not sim.is_healthy) and sim._terminate_when_unhealthy
    info = {
        "x_position": split.qpos[0],
        "y_position": split.qpos[1],
        "distance_from_origin": np.linalg.norm(split.qpos[0:2], ord=2),
        "x_velocity": x_velocity,
        "y_velocity": y_velocity,
        **reward_info,
    }
    return observation, reward, terminated, False, info


Position = Callable[["SplitStep"], Any]
After = Callable[["SplitStep", Any, Any], StepOut]


class SplitStep:
    """One v5 locomotion simulator's step in three parts (see the module's docstring).

    Holds views of the simulator's ``qpos``, ``qvel`` and ``ctrl`` (MuJoCo never moves
    them), rebuilt rather than pickled.

    :param sim: the unwrapped environment
    :param position: reads the position the step's velocity is measured from
    :param after: the step's code after ``do_simulation``
    """

    __slots__ = ("_after", "_mujoco", "_position", "ctrl", "opt", "qpos", "qvel", "sim")

    def __init__(self, sim: Any, position: Position, after: After) -> None:
        self._position = position
        self._after = after
        self._attach(sim)

    def _attach(self, sim: Any) -> None:
        import mujoco  # imported already by the simulator (a MuJoCo environment)

        self._mujoco = mujoco
        self.sim = sim
        self.qpos, self.qvel, self.ctrl = sim.data.qpos, sim.data.qvel, sim.data.ctrl
        self.opt = sim.model.opt

    def __getstate__(self) -> tuple[Any, Position, After]:
        return self.sim, self._position, self._after

    def __setstate__(self, state: tuple[Any, Position, After]) -> None:
        sim, self._position, self._after = state
        self._attach(sim)

    def before(self, action: Any) -> Any:
        """Set the controls to ``action``; returns the position before the step.

        :param action: the simulator's action, of shape ``(nu,)`` (not checked here)
        """
        position = self._position(self)
        _copyto(self.ctrl, action)  # as ``data.ctrl[:] = action``
        return position

    def integrate(self, mujoco: Any) -> None:
        """``frame_skip`` MuJoCo steps and the post-constraint forces, as ``do_simulation``.

        :param mujoco: the ``mujoco`` module (passed in, so that no attribute lookup of a
            module global runs on the stepping threads)
        """
        sim = self.sim
        mujoco.mj_step(sim.model, sim.data, nstep=sim.frame_skip)
        mujoco.mj_rnePostConstraint(sim.model, sim.data)

    def step(self, action: Any) -> StepOut:
        """The whole step in the calling thread: :meth:`before`, :meth:`integrate` and
        :meth:`after` in one call, as ``env.step(action)`` (a single env's step).

        :param action: the simulator's action, of shape ``(nu,)`` (not checked here)
        """
        before = self._position(self)
        _copyto(self.ctrl, action)
        sim, mujoco = self.sim, self._mujoco
        model, data = sim.model, sim.data
        mujoco.mj_step(model, data, nstep=sim.frame_skip)
        mujoco.mj_rnePostConstraint(model, data)
        return self._after(self, action, before)

    def after(self, action: Any, before: Any) -> StepOut:
        """The step's ``(obs, reward, terminated, truncated, info)``.

        :param action: the action :meth:`before` was given
        :param before: what :meth:`before` returned
        """
        return self._after(self, action, before)


def split_step(sim: Any) -> SplitStep | None:
    """The split step of ``sim``, or ``None`` where it has none (another class, a subclass,
    ``render_mode="human"``, or an installed Gymnasium whose step differs from the one
    reproduced here: :data:`REFERENCE_SOURCE_DIGESTS`).

    :param sim: an unwrapped Gymnasium environment
    """
    if getattr(sim, "render_mode", None) == "human":
        return None
    from gymnasium.envs.mujoco.ant_v5 import AntEnv
    from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
    from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

    parts: dict[type, tuple[str, Position, After]] = {
        HalfCheetahEnv: ("half_cheetah_v5.HalfCheetahEnv.step", _x_position, _cheetah_after),
        HopperEnv: ("hopper_v5.HopperEnv.step", _x_position, _hopper_after),
        Walker2dEnv: ("walker2d_v5.Walker2dEnv.step", _x_position, _hopper_after),
        AntEnv: ("ant_v5.AntEnv.step", _xy_position, _ant_after),
    }
    found = parts.get(type(sim))
    if found is None:
        return None
    step_source, position, after = found
    if not reference_sources_match((*SIMULATION_SOURCES, step_source)):
        return None
    if (
        after is _cheetah_after
        and getattr(sim, "_exclude_current_positions_from_observation", False)
        and reference_sources_match(CHEETAH_INLINE_SOURCES)
    ):
        after = _cheetah_after_inline
    return SplitStep(sim, position, after)
