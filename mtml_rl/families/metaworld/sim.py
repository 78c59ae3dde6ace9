"""The simulator of the ``metaworld`` family: one slot that can run any Meta-World environment.

A slot of a vector env holds one simulator for its whole life, but a Meta-World task names its
environment (``env`` is a task parameter), and each environment is its own MuJoCo model.
:class:`MetaWorldSim` is a Gymnasium environment that holds Meta-World environments by name
and delegates to the one the current task runs; :meth:`MetaWorldSim.configure` switches it
(the family's ``apply_task``). Observation and action spaces are the same for every
environment.

Meta-World environments take a few tenths of a second and about 20 MB each to build, so
they are built on first use and, when a simulator closes, kept in a process-wide pool for
the next one (Meta-World's own multi-task environments reuse one environment across tasks
the same way: ``set_task`` and ``reset`` configure it completely). Most of a build is
MuJoCo compiling the environment's XML; each XML is compiled once per process and every
further environment of it gets a copy of that compiled model (:func:`compiled_model`), the
same model bit for bit, in about a tenth of the time. That build writes out Gymnasium's
``MujocoEnv._initialize_simulation`` with the compilation replaced, so it is used only where
the class's own ``_initialize_simulation`` has the source written out
(:data:`INITIALIZE_SIMULATION_DIGESTS`); elsewhere an environment is built as Meta-World
builds it.

Success: ``info["success"]`` is Meta-World's flag at each step; :attr:`MetaWorldSim.succeeded`
says whether it was set at any step of the episode so far, Meta-World's evaluation rule.
"""

from __future__ import annotations

import copy
import functools
import pickle
import threading
import types
from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle

from mtml_rl.errors import TaskError
from mtml_rl.sources import has_source

MAX_IDLE = 64
"""The most built Meta-World environments the pool keeps while no simulator uses them."""
UNLIMITED_STEPS = 10**12
"""Meta-World environments end episodes at 500 steps themselves (``max_path_length``) and
refuse to step beyond; the spec's time limit decides here, so that limit is lifted."""

_POOL: defaultdict[tuple[str, str | None], list[Any]] = defaultdict(list)
_POOL_LOCK = threading.Lock()
_COMPILED: dict[str, Any] = {}
_COMPILED_LOCK = threading.Lock()

INITIALIZE_SIMULATION_DIGESTS = frozenset(
    {"a3d4970250f9ae1d1ce312527a9aaa2862c3eac04e801510cdbc7c6c28d35bd4"}  # Gymnasium 1.4.0
)
"""SHA-256 of the source of Gymnasium's ``MujocoEnv._initialize_simulation`` that
:func:`_initialize_from_compiled` writes out. Gymnasium 1.1.0 to 1.3.0 set the offscreen
framebuffer to the renderer's size instead of growing it: there environments are built
without the compiled copy."""


@functools.cache
def builds_from_compiled(cls: type) -> bool:
    """Whether environments of ``cls`` are built from a compiled model's copy: its
    ``_initialize_simulation`` is the one :func:`_initialize_from_compiled` writes out."""
    return has_source(cls._initialize_simulation, INITIALIZE_SIMULATION_DIGESTS)  # type: ignore[attr-defined]


def compiled_model(path: str) -> Any:
    """A copy of the MuJoCo model compiled from the XML file ``path``, compiled on first use.

    Every caller gets its own copy (Meta-World environments change their model's body and
    site positions when they reset), equal to a fresh compilation of the same file.
    """
    import mujoco

    with _COMPILED_LOCK:
        model = _COMPILED.get(path)
        if model is None:
            model = _COMPILED[path] = mujoco.MjModel.from_xml_path(path)
    return copy.deepcopy(model)


def _initialize_from_compiled(env: Any) -> tuple[Any, Any]:
    """Gymnasium's ``MujocoEnv._initialize_simulation`` with the model copied from
    :func:`compiled_model` instead of compiled again."""
    import mujoco

    model = compiled_model(env.fullpath)
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, env.width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, env.height)
    return model, mujoco.MjData(model)


def _build(name: str, render_mode: str | None) -> Any:
    """A new Meta-World environment ``name`` (its v2 reward, Meta-World's default), its
    MuJoCo model a copy of the one compiled for its XML (:func:`compiled_model`) where
    :func:`builds_from_compiled`.

    The environment is an instance of Meta-World's own class: only for its construction
    does an instance attribute stand in for the class's ``_initialize_simulation``."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    cls: Any = ALL_V3_ENVIRONMENTS[name]
    if builds_from_compiled(cls):
        env = cls.__new__(cls)
        env._initialize_simulation = types.MethodType(_initialize_from_compiled, env)
        try:
            cls.__init__(env, render_mode=render_mode)
        finally:
            del env._initialize_simulation
    else:
        env = cls(render_mode=render_mode)
    env.max_path_length = UNLIMITED_STEPS
    return env


def acquire(name: str, render_mode: str | None) -> Any:
    """A Meta-World environment ``name`` from the pool, or a new one.

    :param name: the environment's name (``reach-v3`` ...)
    :param render_mode: its render mode
    """
    with _POOL_LOCK:
        idle = _POOL[(name, render_mode)]
        if idle:
            return idle.pop()
    return _build(name, render_mode)


def release(name: str, render_mode: str | None, env: Any) -> None:
    """Give an environment back to the pool (closed instead when the pool is full).

    :param name: the environment's name
    :param render_mode: its render mode
    :param env: the environment
    """
    with _POOL_LOCK:
        if sum(len(v) for v in _POOL.values()) < MAX_IDLE:
            _POOL[(name, render_mode)].append(env)
            return
    env.close()


def observation_space() -> spaces.Box:
    """The 39 entries of Meta-World's observation as float32: hand position and gripper
    opening (Meta-World's bounds), object positions and orientations (unbounded), the same
    of the previous step, and the goal position (unbounded: zeros when hidden, and its
    range differs between environments)."""
    from metaworld.sawyer_xyz_env import SawyerXYZEnv

    hand = SawyerXYZEnv._HAND_SPACE
    inf = np.full(14, np.inf)
    frame_low = np.concatenate([hand.low, [-1.0], -inf])
    frame_high = np.concatenate([hand.high, [1.0], inf])
    low = np.concatenate([frame_low, frame_low, np.full(3, -np.inf)])
    high = np.concatenate([frame_high, frame_high, np.full(3, np.inf)])
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


ACTION_SPACE = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
"""Meta-World's actions: hand displacement (x, y, z) and gripper effort, in [-1, 1]."""


class MetaWorldSim(gym.Env[np.ndarray, np.ndarray], EzPickle):
    """Runs the Meta-World environment and task :meth:`configure` chose.

    :param render_mode: ``None`` or ``"rgb_array"``
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None) -> None:
        EzPickle.__init__(self, render_mode)
        self.render_mode = render_mode
        self.observation_space = observation_space()
        self.action_space = ACTION_SPACE
        self._envs: dict[str, Any] = {}
        self.active: Any = None
        """The Meta-World environment of the current task."""
        self.env_name = ""
        """The current task's environment name."""
        self.succeeded = False
        """Whether Meta-World's success flag was set at any step of the current episode."""

    def configure(self, env_name: str, vector: np.ndarray, hidden_goal: bool) -> None:
        """Run ``env_name`` with the reset vector ``vector`` from the next reset on.

        :param env_name: the Meta-World environment
        :param vector: its reset vector (object and goal positions)
        :param hidden_goal: zeros instead of the goal position in observations
        """
        from metaworld.types import Task as MetaWorldTask

        env = self._envs.get(env_name)
        if env is None:
            env = self._envs[env_name] = acquire(env_name, self.render_mode)
        data = {"env_cls": type(env), "rand_vec": np.array(vector), "partially_observable": hidden_goal}
        # set_task deletes its cached observation space when the goal's visibility changes, and
        # fails if nothing has read the space since the last change (a reset without a step)
        env.sawyer_observation_space  # noqa: B018 - computes the cache set_task may delete
        env.set_task(MetaWorldTask(env_name=env_name, data=pickle.dumps(data)))
        self.active, self.env_name = env, env_name

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the current environment (a fixed task's reset is deterministic; ``seed``
        seeds this wrapper's generator only, as Meta-World ignores it)."""
        super().reset(seed=seed)
        if self.active is None:
            raise TaskError("MetaWorldSim: configure() a task before reset()")
        self.succeeded = False
        obs, info = self.active.reset()
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step of the current environment; :attr:`succeeded` latches its success flag."""
        obs, reward, terminated, truncated, info = self.active.step(action)
        self.succeeded = self.succeeded or bool(info["success"])
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self) -> Any:
        """The current environment's frame."""
        return self.active.render() if self.active is not None else None

    def close(self) -> None:
        """Give every environment built for this simulator back to the pool."""
        for name, env in self._envs.items():
            release(name, self.render_mode, env)
        self._envs, self.active = {}, None
