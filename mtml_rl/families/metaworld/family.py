"""The ``metaworld`` family: Meta-World's v3 manipulation environments as tasks (extra
``mtml-rl[metaworld]``).

A task is ``(env, positions)``: ``env`` is a categorical parameter over the 50 v3
environments, the positions (``obj_x`` ... ``goal_z``) are fractions of that environment's
own reset space (:mod:`.positions`), and ``goal_obs`` says whether the goal position is in the
observation (Meta-World's ML benchmarks hide it, its MT benchmarks show it). Rewards,
observations and ``info`` (with ``success``) are Meta-World's own; ``is_success`` is whether
``success`` was set at any step of the episode, Meta-World's evaluation rule.

The protocol ``metaworld`` fills a spec's splits with the tasks Meta-World's own benchmarks
use for the spec's seed: ``train`` with its train tasks, ``test-interpolation`` of an
one-environment spec (ML1) with its test tasks (seed + 1, as ``metaworld.ML1``), and
``test-extrapolation`` of a spec whose ``env`` has held-out values (ML10, ML45) with the test
tasks of those environments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mtml_rl.errors import RejectedTask, SpecError
from mtml_rl.families.metaworld.positions import (
    AXES,
    GOALS_PER_ENV,
    canonical_positions,
    fractions,
    official_vectors,
    reset_vector,
    too_close,
)
from mtml_rl.families.metaworld.sim import ACTION_SPACE, MetaWorldSim, observation_space
from mtml_rl.families.metaworld.table import ENVS
from mtml_rl.families.sim import SimFamily
from mtml_rl.tasks.params import FamilyParams, ParamValue, categorical, param
from mtml_rl.tasks.protocol import ProtocolQuery
from mtml_rl.tasks.task import Task

PROTOCOL = "metaworld"
"""The protocol of Meta-World's own train and test tasks."""
GOAL_MODES = ("hidden", "observed")
_POSITION_DOC = "{what} in the environment's reset space: 0 its low end, 1 its high end (outside: held out)"
_SPACE: list[spaces.Box] = []


def _position(what: str) -> Any:
    return param(0.5, low=-0.5, high=1.5, doc=_POSITION_DOC.format(what=what))


@dataclass(frozen=True)
class MetaWorldParams(FamilyParams):
    """Parameters of the ``metaworld`` family."""

    family: ClassVar[str] = "metaworld"

    env: str = categorical("reach-v3", values=tuple(ENVS), doc="the Meta-World v3 environment")
    goal_obs: str = categorical(
        "hidden",
        values=GOAL_MODES,
        doc="the goal position in the observation's last 3 entries (ML: hidden, zeros; MT: observed)",
    )
    obj_x: float = _position("the object's (or fixture's) x")
    obj_y: float = _position("the object's (or fixture's) y")
    obj_z: float = _position("the object's (or fixture's) z")
    goal_x: float = _position("the goal's x (environments with 6 reset entries)")
    goal_y: float = _position("the goal's y")
    goal_z: float = _position("the goal's z")


class MetaWorld(SimFamily[MetaWorldParams]):
    """Meta-World's v3 environments, one task parameter choosing the environment."""

    name = "metaworld"
    params_cls = MetaWorldParams
    reference_id = "Meta-World/MT1"
    extra = "metaworld"
    required_modules = ("metaworld", "mujoco")
    protocols = (PROTOCOL,)
    max_slots = 50
    headline_metric = "success"

    # -- tasks ----------------------------------------------------------------------------
    @classmethod
    def task(cls, values: Mapping[str, ParamValue]) -> Task:
        """A validated task; positions the environment does not randomize are set to 0.5, and
        positions its reset would refuse (object and goal too close) raise
        :class:`~mtml_rl.errors.RejectedTask`."""
        params = MetaWorldParams(**{**MetaWorldParams().as_dict(), **dict(values)})  # type: ignore[arg-type]
        positions = canonical_positions(params.env, {a: float(getattr(params, a)) for a in AXES})
        if too_close(ENVS[params.env], reset_vector(params.env, positions)):
            raise RejectedTask(
                f"metaworld {params.env}: object and goal closer than "
                f"{ENVS[params.env].min_distance:g} m, which its reset never allows"
            )
        return Task.make(cls.name, {"env": params.env, "goal_obs": params.goal_obs, **positions})

    @classmethod
    def reference_task(cls) -> Task | None:
        """``None``: the environment is Meta-World's; the reproduction tests set its task."""
        return None

    @classmethod
    def vector(cls, task: Task) -> np.ndarray:
        """The reset vector (object and goal positions, metres) of a task."""
        return reset_vector(str(task["env"]), {a: float(task[a]) for a in AXES})

    # -- protocols ------------------------------------------------------------------------
    @classmethod
    def protocol_tasks(cls, query: ProtocolQuery) -> list[dict[str, ParamValue]] | None:
        """Meta-World's own tasks of a split (``None`` for a split they do not define)."""
        if query.protocol != PROTOCOL:
            return None
        varying = query.train_values.get("env")
        env = str(query.fixed.get("env", MetaWorldParams.env))
        if query.split == "train":
            return _official(varying or (env,), query.seed, query.size, query.split)
        if query.split == "test-interpolation" and not varying:
            return _official((env,), query.seed + 1, query.size, query.split)
        held = query.held_out_values.get("env")
        if query.split == "test-extrapolation" and held:
            return _official(held, query.seed, query.size, query.split)
        return None

    # -- the simulator --------------------------------------------------------------------
    def build(self, render_mode: str | None = None) -> gym.Env[Any, Any]:
        """A :class:`MetaWorldSim` (its Meta-World environments are built on first use)."""
        from mtml_rl.families.sim import require_extra

        require_extra(self.name, self.required_modules, self.extra)
        return MetaWorldSim(render_mode)

    def apply_task(
        self, env: gym.Env[Any, Any], params: MetaWorldParams, original: Mapping[str, Any]
    ) -> None:
        """Switch the simulator to the task's environment and positions."""
        assert isinstance(env, MetaWorldSim)
        positions = {a: float(getattr(params, a)) for a in AXES}
        env.configure(params.env, reset_vector(params.env, positions), params.goal_obs == "hidden")

    def is_success(
        self, env: gym.Env[Any, Any], params: MetaWorldParams, obs: np.ndarray, info: Mapping[str, Any]
    ) -> bool | None:
        """Whether Meta-World's ``success`` was set at any step of the episode so far."""
        assert isinstance(env, MetaWorldSim)
        return env.succeeded

    def observation_space(self) -> spaces.Box:
        """Meta-World's 39 observation entries as float32 (the same for every environment)."""
        if not _SPACE:
            _SPACE.append(observation_space())
        return _SPACE[0]

    def action_space(self) -> spaces.Space[Any]:
        """Meta-World's ``Box(-1, 1, (4,))``: it follows the suite's rule unchanged."""
        return ACTION_SPACE

    def simulator_action(self, action: Any) -> Any:
        """The action unchanged (Meta-World's space is already [-1, 1])."""
        return action


def _official(envs: Sequence[str], seed: int, size: int, split: str) -> list[dict[str, ParamValue]]:
    """The first ``size / len(envs)`` of Meta-World's tasks of each environment, in order."""
    per_env, rest = divmod(size, len(envs))
    if rest or per_env > GOALS_PER_ENV:
        raise SpecError(
            f"protocol {PROTOCOL!r}: split {split!r} takes as many of Meta-World's tasks from each of its "
            f"{len(envs)} environment(s), at most {GOALS_PER_ENV} each; make its size a multiple of "
            f"{len(envs)} up to {GOALS_PER_ENV * len(envs)}",
            field=f"splits.{split}",
        )
    vectors = official_vectors(envs, seed)
    return [{"env": env, **fractions(env, v)} for env in envs for v in vectors[env][:per_env]]
