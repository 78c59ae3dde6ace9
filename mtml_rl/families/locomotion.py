"""Reward-varying locomotion: HalfCheetahVel, HalfCheetahDir, AntDir and AntGoal.

The dynamics are Gymnasium's v5 environments unchanged; a task replaces the forward term
of the v5 reward by the published task term, and keeps v5's other terms (control cost,
contact cost, healthy bonus) with their v5 weights unless the spec fixes another control
cost weight:

- HalfCheetahVel (Finn et al. 2017, MAML; Rakelly et al. 2019, PEARL): ``-|v_x - v*|``;
- HalfCheetahDir (MAML; PEARL): ``d * v_x`` with ``d`` in {-1, +1};
- AntDir (MAML; PEARL): ``cos(θ) v_x + sin(θ) v_y``, the torso velocity along heading θ;
- AntGoal (PEARL): ``-(|x - g_x| + |y - g_y|)``, the L1 distance of the torso to the goal.

At HalfCheetahDir ``d = +1`` and AntDir ``θ = 0`` (with v5's control cost weight) the
reward is Gymnasium's, in the same floating-point order, so the environment reproduces
HalfCheetah-v5 and Ant-v5 step for step. HalfCheetahVel and AntGoal reproduce the v5
observations and flags at every task (AntGoal's those of Ant-v5 built as it is, never
terminating and observing the torso's x and y); no target makes their rewards equal v5's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np

from mtml_rl.errors import TaskError
from mtml_rl.families.levels import ReturnLevel
from mtml_rl.families.sim import MujocoFamily, TaskReward, written_reward
from mtml_rl.tasks.params import FamilyParams, param
from mtml_rl.tasks.task import Task

CHEETAH_CTRL_DOC = "weight of the squared-action cost (Gymnasium v5: 0.1; MAML and PEARL: 0.05)"
ANT_CTRL_DOC = (
    "weight of the squared-action cost (Gymnasium v5 and PEARL's ant-dir: 0.5; PEARL's ant-goal: 0.1)"
)
P = TypeVar("P", bound=FamilyParams)
GOAL_RADIUS = 0.5
"""AntGoal counts as success while the torso is within this many metres of the goal."""


class V5Locomotion(MujocoFamily[P]):
    """A v5 locomotion env whose task sets the control cost weight (every task has
    ``ctrl_cost_weight``): the simulator is configured as one built with
    ``ctrl_cost_weight=...``, so its ``info["reward_ctrl"]`` is the task's control cost,
    computed once, by v5's own code (``weight * sum(action ** 2)``)."""

    def apply_task(self, env: gym.Env[Any, Any], params: P, original: Mapping[str, np.ndarray]) -> None:
        sim = env.unwrapped
        if not hasattr(sim, "_ctrl_cost_weight"):
            raise TypeError(
                f"{type(sim).__name__} keeps no _ctrl_cost_weight; this Gymnasium version is not "
                "supported by mtml-rl's locomotion families (Gymnasium 1.x v5 environments are)"
            )
        sim._ctrl_cost_weight = params.ctrl_cost_weight  # type: ignore[attr-defined]


def control_cost(info: Mapping[str, Any]) -> float:
    """The task's control cost: the simulator's own term (see :class:`V5Locomotion`)."""
    return -float(info["reward_ctrl"])


def cheetah_reward_into(forward: float, info: dict[str, Any]) -> float:
    """HalfCheetah-v5's reward with its forward term replaced by ``forward``, in v5's order
    (Python floats hold the values numpy's scalars would); the terms (``reward_forward``,
    ``reward_ctrl``) written into ``info``.

    :param forward: the task's forward term
    :param info: the info HalfCheetah-v5 returned (or a copy of it)
    """
    reward_ctrl = float(info["reward_ctrl"])  # -control_cost(info), read once per step
    info["reward_forward"] = forward
    info["reward_ctrl"] = reward_ctrl
    return forward + reward_ctrl


def cheetah_reward(forward: float, info: Mapping[str, Any]) -> TaskReward:
    """:func:`cheetah_reward_into` as a :class:`TaskReward` (``info`` left unchanged).

    :param forward: the task's forward term
    :param info: the info HalfCheetah-v5 returned
    """
    return written_reward(functools.partial(cheetah_reward_into, forward), info)


def ant_reward_into(forward: float, info: dict[str, Any]) -> float:
    """Ant-v5's reward with its forward term replaced by ``forward``; the terms
    (``reward_forward``, ``reward_ctrl``) written into ``info``.

    The healthy bonus and contact cost are the simulator's (from ``info``); the sums are
    formed in Ant-v5's order, so the result is bit-identical where the terms are.

    :param forward: the task's forward term
    :param info: the info Ant-v5 returned (or a copy of it)
    """
    reward_ctrl = float(info["reward_ctrl"])  # -control_cost(info)
    contact_cost = -float(info["reward_contact"])
    info["reward_forward"] = forward
    info["reward_ctrl"] = reward_ctrl
    return (forward + float(info["reward_survive"])) - (-reward_ctrl + contact_cost)


def ant_reward(forward: float, info: Mapping[str, Any]) -> TaskReward:
    """:func:`ant_reward_into` as a :class:`TaskReward` (``info`` left unchanged).

    :param forward: the task's forward term
    :param info: the info Ant-v5 returned
    """
    return written_reward(functools.partial(ant_reward_into, forward), info)


# --------------------------------------------------------------------------------------------
# HalfCheetah
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HalfCheetahVelParams(FamilyParams):
    """Parameters of the HalfCheetahVel family."""

    family: ClassVar[str] = "halfcheetah_vel"

    target_velocity: float = param(
        1.5, low=-10.0, high=10.0, unit="m/s", doc="forward velocity the reward asks for (PEARL: U[0, 3])"
    )
    ctrl_cost_weight: float = param(0.1, low=0.0, high=10.0, doc=CHEETAH_CTRL_DOC)


class HalfCheetahVel(V5Locomotion[HalfCheetahVelParams]):
    """HalfCheetah-v5 rewarded for running at a target velocity: ``-|v_x - v*| - c |a|^2``."""

    name = "halfcheetah_vel"
    params_cls = HalfCheetahVelParams
    reference_id = "HalfCheetah-v5"
    solved_level = ReturnLevel(
        "no Gymnasium threshold for a target velocity: -0.5 per step (velocity error "
        "plus control cost), i.e. tracking the target within about 0.5 m/s on average, "
        "the acceleration from standstill included.",
        per_step=-0.5,
    )

    @classmethod
    def reference_task(cls) -> Task | None:
        """``None``: no target velocity makes the reward equal HalfCheetah-v5's."""
        return None

    def task_reward_into(
        self, params: HalfCheetahVelParams, action: np.ndarray, sim_reward: float, info: dict[str, Any]
    ) -> float:
        return cheetah_reward_into(-abs(float(info["x_velocity"]) - params.target_velocity), info)


@dataclass(frozen=True)
class HalfCheetahDirParams(FamilyParams):
    """Parameters of the HalfCheetahDir family (``direction`` is -1 or +1)."""

    family: ClassVar[str] = "halfcheetah_dir"

    direction: float = param(1.0, low=-1.0, high=1.0, doc="+1 rewards running forward, -1 backward")
    ctrl_cost_weight: float = param(0.1, low=0.0, high=10.0, doc=CHEETAH_CTRL_DOC)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction not in (-1.0, 1.0):
            raise TaskError(
                f"{self.family}: parameter 'direction' = {self.direction} must be -1 (backward) or "
                "+1 (forward); in a spec write its region as [[-1, -1], [1, 1]]"
            )


class HalfCheetahDir(V5Locomotion[HalfCheetahDirParams]):
    """HalfCheetah-v5 rewarded for running forward or backward: ``d v_x - c |a|^2``.

    The task configures the simulator: v5's forward reward weight is the direction ``d``
    and its control cost weight the task's, so the reward and ``info`` terms are v5's own
    (``reward_forward = d * v_x``), computed by v5 at no extra cost per step.
    ``direction = +1`` (with v5's control cost weight 0.1) is HalfCheetah-v5 exactly.
    """

    name = "halfcheetah_dir"
    params_cls = HalfCheetahDirParams
    reference_id = "HalfCheetah-v5"
    solved_level = ReturnLevel(
        "HalfCheetah-v5's threshold (4800 over 1000 steps) assumes a run already at speed; "
        "over short episodes from standstill: 1.5 per step, i.e. running in the rewarded "
        "direction at about 1.5 m/s on average, net of the control cost.",
        per_step=1.5,
    )

    def apply_task(
        self, env: gym.Env[Any, Any], params: HalfCheetahDirParams, original: Mapping[str, np.ndarray]
    ) -> None:
        super().apply_task(env, params, original)
        sim = env.unwrapped
        if not hasattr(sim, "_forward_reward_weight"):
            raise TypeError(
                f"{type(sim).__name__} keeps no _forward_reward_weight; this Gymnasium version is not "
                "supported by mtml-rl's locomotion families (Gymnasium 1.x v5 environments are)"
            )
        sim._forward_reward_weight = params.direction


# --------------------------------------------------------------------------------------------
# Ant
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AntDirParams(FamilyParams):
    """Parameters of the AntDir family."""

    family: ClassVar[str] = "ant_dir"

    direction: float = param(
        0.0,
        low=-2 * math.pi,
        high=2 * math.pi,
        unit="rad",
        doc="heading to run along, counter-clockwise from +x (periodic; 0 is Ant-v5's forward)",
    )
    ctrl_cost_weight: float = param(0.5, low=0.0, high=10.0, doc=ANT_CTRL_DOC)


class AntDir(V5Locomotion[AntDirParams]):
    """Ant-v5 rewarded for the torso velocity along a heading θ on the plane.

    ``direction = 0`` (with v5's control cost weight 0.5) is Ant-v5 exactly.
    """

    name = "ant_dir"
    params_cls = AntDirParams
    reference_id = "Ant-v5"
    solved_level = ReturnLevel(
        "Ant-v5's threshold (6000 over 1000 steps) assumes a run already at speed; over "
        "short episodes from standstill: 1.5 per step, i.e. upright throughout (+1) and "
        "moving along the heading with the control and contact costs paid (about 1 m/s at "
        "a control cost of 0.5 per step).",
        per_step=1.5,
    )

    def task_reward_into(
        self, params: AntDirParams, action: np.ndarray, sim_reward: float, info: dict[str, Any]
    ) -> float:
        theta = params.direction
        forward = math.cos(theta) * float(info["x_velocity"]) + math.sin(theta) * float(info["y_velocity"])
        return ant_reward_into(forward, info)


@dataclass(frozen=True)
class AntGoalParams(FamilyParams):
    """Parameters of the AntGoal family."""

    family: ClassVar[str] = "ant_goal"

    goal_x: float = param(0.0, low=-10.0, high=10.0, unit="m", doc="x coordinate of the goal on the plane")
    goal_y: float = param(0.0, low=-10.0, high=10.0, unit="m", doc="y coordinate of the goal on the plane")
    ctrl_cost_weight: float = param(0.5, low=0.0, high=10.0, doc=ANT_CTRL_DOC)


class AntGoal(V5Locomotion[AntGoalParams]):
    """Ant-v5 rewarded for the L1 distance of its torso to a goal, without termination.

    As in PEARL the episode never terminates: with a reward that is negative almost
    everywhere, ending the episode by falling over would otherwise pay. The env is built
    with ``terminate_when_unhealthy=False``; v5's healthy bonus still pays while healthy.

    The observation includes the torso's x and y (``exclude_current_positions_from_observation
    =False``: 107 values, v5's 105 after them), as PEARL's ant-goal observes all of ``qpos``:
    the goal is hidden, the ant's own position is not. Without it even a policy told the goal
    cannot know where it stands relative to it (v0 of the spec observed neither; its oracle never
    learned to walk to the goal). Success: the torso within :data:`GOAL_RADIUS` of the goal.
    """

    name = "ant_goal"
    params_cls = AntGoalParams
    reference_id = "Ant-v5"
    solved_level = ReturnLevel(
        "no Gymnasium threshold for a goal: 0 per step, i.e. the healthy bonus (+1) paying "
        "for the L1 distance and the control costs. Standing still at the start returns "
        "about -2 per step (train goals lie 3 m away in L1 on average); reaching the goal "
        "within the first third of the episode and holding it costs about 0.6 per step of "
        "distance.",
        per_step=0.0,
    )
    env_kwargs = MappingProxyType(
        {"terminate_when_unhealthy": False, "exclude_current_positions_from_observation": False}
    )

    @classmethod
    def reference_task(cls) -> Task | None:
        """``None``: no goal makes the reward equal Ant-v5's."""
        return None

    def task_reward_into(
        self, params: AntGoalParams, action: np.ndarray, sim_reward: float, info: dict[str, Any]
    ) -> float:
        x, y = float(info["x_position"]), float(info["y_position"])
        forward = -(abs(x - params.goal_x) + abs(y - params.goal_y))
        return ant_reward_into(forward, info)

    def is_success(
        self, env: gym.Env[Any, Any], params: AntGoalParams, obs: np.ndarray, info: Mapping[str, Any]
    ) -> bool | None:
        distance = math.hypot(info["x_position"] - params.goal_x, info["y_position"] - params.goal_y)
        return distance <= GOAL_RADIUS
