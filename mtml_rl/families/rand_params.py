"""Dynamics-varying locomotion: HopperParams, WalkerParams and HalfCheetahParams.

PEARL's rand-params scheme (Rakelly et al. 2019, after Clavera et al.'s
``rand_param_envs``): physical quantities of the MuJoCo model are multiplied by
``base ** u`` with ``u`` uniform in [-3, 3]; the base is 1.5 for body masses, body
inertias and geom friction and 1.3 for joint damping. Here each group shares one exponent
(a five-dimensional task instead of one multiplier per body, joint and geom), and gravity
is added with base 1.5. The task's parameters are the exponents ``u``; all zeros is the
v5 environment exactly.

Every task is computed from the values saved when the model was built, then
``mj_setConst`` recomputes the quantities MuJoCo derives from them (subtree masses,
inverse weights, ``actuator_acc0`` ...), so no value of an earlier task survives a switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np

from mtml_rl.families.levels import ReturnLevel
from mtml_rl.families.sim import MujocoFamily
from mtml_rl.tasks.params import FamilyParams, param

EXP_LOW, EXP_HIGH = -5.0, 5.0
"""Physical bounds of every exponent (PEARL samples [-3, 3])."""


@dataclass(frozen=True)
class Scaling:
    """One group of model values scaled by ``base ** u``.

    :param param: the exponent's parameter name
    :param field: the ``MjModel`` attribute (``opt.gravity`` for gravity)
    :param base: the multiplier at ``u = 1``
    """

    param: str
    field: str
    base: float


SCALINGS = (
    Scaling("mass_exp", "body_mass", 1.5),
    Scaling("inertia_exp", "body_inertia", 1.5),
    Scaling("damping_exp", "dof_damping", 1.3),
    Scaling("friction_exp", "geom_friction", 1.5),
    Scaling("gravity_exp", "opt.gravity", 1.5),
)


def _exponent(base: str, what: str) -> Any:
    return param(0.0, low=EXP_LOW, high=EXP_HIGH, doc=f"exponent u: {what} are multiplied by {base}**u")


@dataclass(frozen=True)
class ModelScales(FamilyParams):
    """Log-scale multipliers of the model's physical quantities (all zero: the v5 model)."""

    mass_exp: float = _exponent("1.5", "body masses")
    inertia_exp: float = _exponent("1.5", "body inertias")
    damping_exp: float = _exponent("1.3", "joint damping coefficients")
    friction_exp: float = _exponent("1.5", "geom friction coefficients")
    gravity_exp: float = _exponent("1.5", "gravity")


@dataclass(frozen=True)
class HopperScales(ModelScales):
    """Parameters of the HopperParams family."""

    family: ClassVar[str] = "hopper_params"


@dataclass(frozen=True)
class WalkerScales(ModelScales):
    """Parameters of the WalkerParams family."""

    family: ClassVar[str] = "walker_params"


@dataclass(frozen=True)
class HalfCheetahScales(ModelScales):
    """Parameters of the HalfCheetahParams family."""

    family: ClassVar[str] = "halfcheetah_params"


S = TypeVar("S", bound=ModelScales)


def model_array(model: Any, field: str) -> np.ndarray:
    """The ``MjModel`` array called ``field`` (``opt.gravity`` reads ``model.opt.gravity``)."""
    owner = model.opt if field.startswith("opt.") else model
    array: np.ndarray = getattr(owner, field.removeprefix("opt."))
    return array


class RandParamsFamily(MujocoFamily[S]):
    """A v5 MuJoCo environment whose masses, inertias, damping, friction and gravity vary."""

    def snapshot(self, env: gym.Env[Any, Any]) -> dict[str, np.ndarray]:
        model = env.unwrapped.model  # type: ignore[attr-defined]
        return {s.field: model_array(model, s.field).copy() for s in SCALINGS}

    def apply_task(self, env: gym.Env[Any, Any], params: S, original: Mapping[str, np.ndarray]) -> None:
        import mujoco

        sim = env.unwrapped
        model = sim.model  # type: ignore[attr-defined]
        for s in SCALINGS:
            model_array(model, s.field)[...] = original[s.field] * s.base ** getattr(params, s.param)
        mujoco.mj_setConst(model, sim.data)  # type: ignore[attr-defined]


class HopperParams(RandParamsFamily[HopperScales]):
    """Hopper-v5 with PEARL-style randomized physical parameters."""

    name = "hopper_params"
    params_cls = HopperScales
    reference_id = "Hopper-v5"
    solved_level = ReturnLevel(
        "Hopper-v5's threshold (3800 over 1000 steps) assumes a run already at speed; "
        "over short episodes from standstill: 2 per step, i.e. healthy throughout (+1) "
        "and hopping forward at about 1 m/s on average.",
        per_step=2.0,
    )


class WalkerParams(RandParamsFamily[WalkerScales]):
    """Walker2d-v5 with PEARL-style randomized physical parameters."""

    name = "walker_params"
    params_cls = WalkerScales
    reference_id = "Walker2d-v5"
    solved_level = ReturnLevel(
        "Walker2d-v5 has no threshold; its reward is Hopper-v5's (+1 healthy, forward "
        "velocity, a small control cost), so Hopper's level: 2 per step, i.e. healthy "
        "throughout (+1) and walking forward at about 1 m/s on average from standstill.",
        per_step=2.0,
    )


class HalfCheetahParams(RandParamsFamily[HalfCheetahScales]):
    """HalfCheetah-v5 with PEARL-style randomized physical parameters."""

    name = "halfcheetah_params"
    params_cls = HalfCheetahScales
    reference_id = "HalfCheetah-v5"
    solved_level = ReturnLevel(
        "HalfCheetah-v5's threshold (4800 over 1000 steps) assumes a run already at speed; "
        "over short episodes from standstill: 1.5 per step, i.e. running forward at about "
        "1.5 m/s on average, net of the control cost.",
        per_step=1.5,
    )
