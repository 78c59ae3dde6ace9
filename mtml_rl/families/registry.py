"""The built-in families by name (imported lazily)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mtml_rl.errors import UnknownNameError

if TYPE_CHECKING:
    from mtml_rl.families.base import Family

_FAMILIES: dict[str, str] = {
    "cartpole": "mtml_rl.families.cartpole:CartPole",
    "pendulum": "mtml_rl.families.pendulum:Pendulum",
    "mountaincar_continuous": "mtml_rl.families.mountaincar:MountainCarContinuous",
    "acrobot": "mtml_rl.families.acrobot:Acrobot",
    "pointnav": "mtml_rl.families.pointnav:PointNav",
    # simulator-backed (mtml_rl.families.sim.SimFamily; MuJoCo and Box2D imported lazily)
    "halfcheetah_vel": "mtml_rl.families.locomotion:HalfCheetahVel",
    "halfcheetah_dir": "mtml_rl.families.locomotion:HalfCheetahDir",
    "ant_dir": "mtml_rl.families.locomotion:AntDir",
    "ant_goal": "mtml_rl.families.locomotion:AntGoal",
    "hopper_params": "mtml_rl.families.rand_params:HopperParams",
    "walker_params": "mtml_rl.families.rand_params:WalkerParams",
    "halfcheetah_params": "mtml_rl.families.rand_params:HalfCheetahParams",
    "lunarlander": "mtml_rl.families.lunarlander:LunarLander",
}


def family_names() -> tuple[str, ...]:
    """Names of every built-in family."""
    return tuple(sorted(_FAMILIES))


def get_family(name: str) -> type[Family]:
    """Look up a family class by name."""
    try:
        target = _FAMILIES[name]
    except KeyError:
        raise UnknownNameError("family", name, _FAMILIES) from None
    module, attr = target.split(":")
    cls: type[Family] = getattr(importlib.import_module(module), attr)
    return cls
