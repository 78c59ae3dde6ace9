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
differently) and never for ``render_mode="human"`` (whose step renders).

Nothing here imports MuJoCo or Gymnasium's MuJoCo environments before :func:`split_step`
is called, so ``import mtml_rl`` works without the ``mujoco`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

StepOut = tuple[Any, Any, bool, bool, dict[str, Any]]
"""A simulator's ``(obs, reward, terminated, truncated, info)``."""


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
    or ``render_mode="human"``).

    :param sim: an unwrapped Gymnasium environment
    """
    if getattr(sim, "render_mode", None) == "human":
        return None
    from gymnasium.envs.mujoco.ant_v5 import AntEnv
    from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
    from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

    parts: dict[type, tuple[Position, After]] = {
        HalfCheetahEnv: (_x_position, _cheetah_after),
        HopperEnv: (_x_position, _hopper_after),
        Walker2dEnv: (_x_position, _hopper_after),
        AntEnv: (_xy_position, _ant_after),
    }
    if getattr(sim, "_exclude_current_positions_from_observation", False):
        parts[HalfCheetahEnv] = (_x_position, _cheetah_after_inline)
    found = parts.get(type(sim))
    return None if found is None else SplitStep(sim, *found)
