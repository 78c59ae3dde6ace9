"""Simulator-backed families: tasks applied to a Gymnasium environment that owns the physics.

MuJoCo and Box2D keep their state inside a simulator, so these families cannot share the
pure batched ``Family.step`` of the numpy families. A :class:`SimFamily` instead says

- which Gymnasium environment to build (:attr:`SimFamily.reference_id` and
  :attr:`SimFamily.env_kwargs`), behind an optional extra (``mtml-rl[mujoco]``, ``[box2d]``);
- how to apply a task to a built environment (:meth:`SimFamily.apply_task`), always from
  the values saved right after building (:meth:`SimFamily.snapshot`), so that switching
  tasks and back restores the simulator exactly;
- how the task changes the reward (:meth:`SimFamily.task_reward`) and, where defined,
  what counts as success (:meth:`SimFamily.is_success`).

The parameter schema (a frozen :class:`~mtml_rl.tasks.params.FamilyParams` dataclass) and
its helpers are the same as a numpy family's, so specs, splits, tasks and context codecs
treat both kinds alike. :class:`~mtml_rl.envs.sim_env.SimMultiTaskEnv` runs them.

Nothing here imports a simulator: ``import mtml_rl`` works without the extras, and using a
family without its extra raises :class:`MissingExtraError` naming the ``pip`` command.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from abc import ABC
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.errors import FamilyError, MtmlError
from mtml_rl.families.actions import ActionMap
from mtml_rl.families.mujoco_split import SplitStep, StepOut, split_step
from mtml_rl.families.parameterized import ParameterizedFamily
from mtml_rl.families.rendering import draw_offscreen_without_display
from mtml_rl.tasks.params import FamilyParams
from mtml_rl.tasks.task import Task

P = TypeVar("P", bound=FamilyParams)

_SPACES: dict[type, tuple[spaces.Box, ActionMap]] = {}
"""Observation space (float32) and action map of each family's built environment."""


class MissingExtraError(MtmlError, ImportError):
    """A simulator-backed family was used without its optional dependencies installed.

    :param family: the family's name
    :param extra: the ``mtml-rl`` extra that installs what is missing (``None``: none does)
    :param missing: what is missing (a module name or the simulator's own message)
    """

    def __init__(self, family: str, extra: str | None, missing: str) -> None:
        self.family = family
        self.extra = extra
        fix = (
            f'install it with: pip install "mtml-rl[{extra}]"'
            if extra
            else "install the package that provides it"
        )
        super().__init__(f"family {family!r} needs {missing}, which is not installed; {fix}")


class TaskReward(NamedTuple):
    """The reward of one transition under a task, and the terms that replace Gymnasium's."""

    reward: float
    """The task's reward."""
    terms: dict[str, float]
    """Entries of ``info`` the task redefines (e.g. ``reward_forward``); empty if none."""


def written_reward(reward_into: Callable[[dict[str, Any]], float], info: Mapping[str, Any]) -> TaskReward:
    """The :class:`TaskReward` of an in-place reward: ``reward_into`` runs on a copy of
    ``info``; the terms are the entries it wrote (new keys, or values it replaced).

    :param reward_into: writes the reward's terms into the dict it is given and returns the reward
    :param info: the info the simulator returned (left unchanged)
    """
    written = dict(info)
    reward = reward_into(written)
    return TaskReward(reward, {k: v for k, v in written.items() if k not in info or info[k] is not v})


def overrides(family: SimFamily[Any], hook: str) -> bool:
    """Whether the family's class replaces :class:`SimFamily`'s default ``hook``."""
    return getattr(type(family), hook) is not getattr(SimFamily, hook)


def require_extra(family: str, modules: tuple[str, ...], extra: str | None) -> None:
    """Import ``modules`` or raise :class:`MissingExtraError` naming ``extra``.

    :param family: the family's name (for the message)
    :param modules: the modules the family's simulator needs
    :param extra: the ``mtml-rl`` extra that installs them (``None``: none does)
    """
    for module in modules:
        try:
            with warnings.catch_warnings():
                # SWIG-built modules (Box2D) warn while their C extension initializes; a
                # warnings-as-errors filter turns that into a crash inside the import.
                warnings.filterwarnings("ignore", r"builtin type \w+ has no __module__", DeprecationWarning)
                importlib.import_module(module)
        except ImportError:
            raise MissingExtraError(family, extra, f"the module {module!r}") from None


class SimFamily(ParameterizedFamily, ABC, Generic[P]):
    """A task family whose dynamics run in a Gymnasium simulator environment.

    Subclasses set :attr:`name`, :attr:`params_cls` and :attr:`reference_id` (required;
    the registry checks them) and override what their tasks change: the model
    (:meth:`snapshot` and :meth:`apply_task`), the reward (:meth:`task_reward`) and success
    (:meth:`is_success`). Every other attribute and hook has a default; the defaults
    change nothing, so at a task that changes nothing the environment is exactly
    :attr:`reference_id`. Actions follow the suite's rule by default (:meth:`action_space`,
    :meth:`simulator_action`).

    Observation and action spaces are those of the built environment (observations as
    float32, the suite's dtype) and must not depend on the task. The schema, task helpers,
    levels and protocols are every family's
    (:class:`~mtml_rl.families.parameterized.ParameterizedFamily`).
    """

    reference_id: ClassVar[str]
    """The Gymnasium id that is built (e.g. ``"HalfCheetah-v5"``)."""
    env_kwargs: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    """Constructor arguments passed to :attr:`reference_id` on top of its registered ones."""
    extra: ClassVar[str | None] = None
    """The ``mtml-rl`` extra that installs the simulator (``"mujoco"``, ``"box2d"``), if any."""
    required_modules: ClassVar[tuple[str, ...]] = ()
    """Modules the simulator needs (checked before building, so that a missing one is named)."""
    max_slots: ClassVar[int | None] = None
    """The most simulators worth holding at once in one process (memory, build time); longer
    task lists are evaluated in chunks of this many slots. ``None``: no limit."""
    success_only_at_termination: ClassVar[bool] = False
    """Whether a transition can count as success only where it terminates the episode (the
    simulator ends every successful episode at that step): the environments then call
    :meth:`is_success` on terminating transitions and at resets only, and record ``False``
    for the others without calling it. ``False`` (the default): it is called at every step."""
    fresh_info: ClassVar[bool] = False
    """Whether the simulator's ``step`` returns a new ``info`` dict every time, which the
    single env then extends in place with the task's entries and hands out; ``False`` (the
    default, for simulators that may reuse or later change their dict): it is copied first."""

    @classmethod
    def reference_task(cls) -> Task | None:
        """The task at which the env reproduces :attr:`reference_id` step for step, reward
        included; ``None`` where no parameter value makes the reward equal Gymnasium's."""
        return cls.default_task()

    def params(self, task: Task) -> P:
        """The task's values as the family's parameter dataclass."""
        return cast(P, self.params_cls.from_mapping(task.as_dict()))

    # -- the simulator ------------------------------------------------------------------
    def build(self, render_mode: str | None = None) -> gym.Env[Any, Any]:
        """Build the unwrapped :attr:`reference_id` environment (no time limit, no checker).

        :param render_mode: passed to the environment
        :raises MissingExtraError: if the simulator is not installed
        """
        require_extra(self.name, self.required_modules, self.extra)
        if render_mode == "rgb_array":
            draw_offscreen_without_display()
        try:
            env = gym.make(
                self.reference_id, render_mode=render_mode, disable_env_checker=True, **self.env_kwargs
            ).unwrapped
        except gym.error.DependencyNotInstalled as exc:
            raise MissingExtraError(
                self.name, self.extra, f"a dependency of {self.reference_id} ({exc})"
            ) from exc
        if type(self) not in _SPACES:
            obs_space = _float32_box(env.observation_space, self.name)
            _SPACES[type(self)] = (obs_space, ActionMap.of(env.action_space, self.name))
        return env

    def snapshot(self, env: gym.Env[Any, Any]) -> dict[str, np.ndarray]:
        """Copies of the simulator values :meth:`apply_task` changes, taken after building.

        :param env: the environment :meth:`build` returned
        """
        return {}

    def apply_task(self, env: gym.Env[Any, Any], params: P, original: Mapping[str, np.ndarray]) -> None:
        """Configure ``env`` for the task; takes effect at its next ``reset``.

        Values are computed from ``original`` (never from the current ones), so that the
        same task always gives the same simulator.

        :param env: the environment :meth:`build` returned
        :param params: the task's parameters
        :param original: what :meth:`snapshot` returned for ``env``
        """

    def task_reward(
        self, params: P, action: np.ndarray, sim_reward: float, info: Mapping[str, Any]
    ) -> TaskReward:
        """The task's reward of a transition (default: the simulator's own reward, or where
        the family defines :meth:`task_reward_into`, its reward and the entries it writes).

        :param params: the task's parameters
        :param action: the action as passed to the simulator
        :param sim_reward: the reward the simulator returned
        :param info: the info the simulator returned
        """
        if overrides(self, "task_reward_into"):
            return written_reward(functools.partial(self.task_reward_into, params, action, sim_reward), info)
        return TaskReward(sim_reward, {})

    def task_reward_into(
        self, params: P, action: np.ndarray, sim_reward: float, info: dict[str, Any]
    ) -> float:
        """The task's reward of a transition, the ``info`` entries it redefines written into
        ``info``: what the environments call at every step (the single env on the dict it
        hands out, with no :class:`TaskReward` built per step). Default: :meth:`task_reward`'s
        reward, its terms written into ``info``. A family defines one of the two hooks; where
        it defines this one, :meth:`task_reward` derives its result from it.

        :param params: the task's parameters
        :param action: the action as passed to the simulator
        :param sim_reward: the reward the simulator returned
        :param info: the info the simulator returned (or a copy of it), extended in place
        """
        reward, terms = self.task_reward(params, action, sim_reward, info)
        info.update(terms)
        return reward

    def reward_hook(self) -> Callable[[P, Any, float, dict[str, Any]], float] | None:
        """What the environments call for the task's reward at every step
        (:meth:`task_reward_into`, bound), or ``None`` where the family redefines neither
        reward hook (the simulator's reward is the task's)."""
        if overrides(self, "task_reward") or overrides(self, "task_reward_into"):
            return self.task_reward_into
        return None

    def is_success(
        self, env: gym.Env[Any, Any], params: P, obs: np.ndarray, info: Mapping[str, Any]
    ) -> bool | None:
        """Whether the state after a transition counts as success; ``None`` if undefined.

        :param env: the environment :meth:`build` returned
        :param params: the task's parameters
        :param obs: the simulator's observation
        :param info: the simulator's info
        """
        return None

    def split_step(self, env: gym.Env[Any, Any]) -> SplitStep | None:
        """``env``'s step cut around its physics (:mod:`~mtml_rl.families.mujoco_split`), so
        that a vector env can integrate its simulators on threads; ``None`` (the default):
        the simulator is stepped whole.

        :param env: the environment :meth:`build` returned
        """
        return None

    def whole_step(self, env: gym.Env[Any, Any]) -> Callable[[Any], StepOut] | None:
        """A step equal to ``env.step`` bit for bit and cheaper, for stepping one simulator
        at a time (a single env's slot, a vector env without split steps); ``None``: ``env.step``
        itself. The default is the split step run whole, where :meth:`split_step` gives one.

        :param env: the environment :meth:`build` returned
        """
        split = self.split_step(env)
        return None if split is None else split.step

    # -- spaces -------------------------------------------------------------------------
    def observation_space(self) -> spaces.Box:
        """The observation space of the built environment, as float32."""
        return self._spaces()[0]

    def action_space(self) -> spaces.Space[Any]:
        """The agent's action space: the built environment's, normalized to the suite's rule.

        A Box bounded by exactly [-1, 1] and a ``Discrete(n)`` starting at 0 are kept; any
        other bounded Box becomes ``Box(-1, 1)`` and a shifted ``Discrete`` starts at 0
        (:meth:`simulator_action` maps the actions back).
        """
        return self._spaces()[1].agent_space

    def simulator_action(self, action: Any) -> Any:
        """The simulator's action for the agent's ``action`` (the inverse of the
        normalization of :meth:`action_space`; unchanged where the simulator's space
        already follows the rule).

        :param action: one slot's action in :meth:`action_space`
        """
        return self._spaces()[1].to_simulator(action)

    def _spaces(self) -> tuple[spaces.Box, ActionMap]:
        if type(self) not in _SPACES:
            self.build().close()
        return _SPACES[type(self)]


def _float32_box(space: gym.Space[Any], family: str) -> spaces.Box:
    if not isinstance(space, spaces.Box):
        raise FamilyError(
            f"family {family!r}: its simulator's observation space is {space}, but the suite needs a "
            "Box of floats; wrap the environment (e.g. gymnasium.wrappers.FlattenObservation) first"
        )
    return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)


def is_sim_family(family: object) -> bool:
    """Whether ``family`` (a class) is a :class:`SimFamily`."""
    return isinstance(family, type) and issubclass(family, SimFamily)


class MujocoFamily(SimFamily[P]):
    """A family on one of Gymnasium's MuJoCo (v5) environments (extra ``mtml-rl[mujoco]``)."""

    extra = "mujoco"
    required_modules = ("mujoco",)
    fresh_info = True  # Gymnasium's MuJoCo envs build their info dict at every step

    def split_step(self, env: gym.Env[Any, Any]) -> SplitStep | None:
        """The split step of Gymnasium's v5 HalfCheetah, Hopper, Walker2d and Ant
        (:func:`~mtml_rl.families.mujoco_split.split_step`); ``None`` for any other simulator."""
        return split_step(env)
