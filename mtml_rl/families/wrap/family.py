"""The generic family: any registered Gymnasium id, its parameters declared by a spec.

:func:`wrapped_family` turns a spec's ``gymnasium:`` block
(:class:`~mtml_rl.families.wrap.block.GymnasiumBlock`) into a
:class:`~mtml_rl.families.sim.SimFamily` class: it builds the environment once, reads every
parameter's default from it (the target's value, or 1 for a scale), checks the targets,
bounds and derived expressions, and declares the parameter dataclass. A task is applied
before each reset by :meth:`GymnasiumFamily.apply_task`, always from the values saved
right after building:

1. every parameter's target is set to the task's value (or the nominal value times it);
2. every ``derived`` value is recomputed from its expression (attributes the environment
   caches, such as CartPole's ``total_mass``);
3. if a MuJoCo model changed, ``mujoco.mj_setConst`` recomputes the model's own derived
   constants (subtree masses, inverse weights, ``actuator_acc0`` ...).

At the defaults nothing changes, so the environment reproduces its Gymnasium id step for
step. Actions follow the suite's rule through :class:`~mtml_rl.families.actions.ActionMap`
(a bounded Box is rescaled from [-1, 1]; Discrete passes unchanged).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from mtml_rl.errors import MtmlWarning, SpecError
from mtml_rl.families.sim import SimFamily
from mtml_rl.families.wrap.block import GymnasiumBlock, WrappedParameter
from mtml_rl.families.wrap.expressions import ExpressionError
from mtml_rl.families.wrap.targets import Target, TargetError, bind
from mtml_rl.tasks.params import FamilyParams, param
from mtml_rl.tasks.task import canonical_value


class GymnasiumFamily(SimFamily[Any]):
    """Base of the classes :func:`wrapped_family` builds: a Gymnasium id whose parameters are
    attributes of the unwrapped environment or entries of its MuJoCo model."""

    block: ClassVar[GymnasiumBlock]
    """The spec's ``gymnasium:`` block."""

    def snapshot(self, env: gym.Env[Any, Any]) -> dict[str, np.ndarray]:
        """The value(s) of every parameter's target right after building."""
        return {p.name: bind(env, p.target).get() for p in self.block.parameters}

    def apply_task(self, env: gym.Env[Any, Any], params: Any, original: Mapping[str, np.ndarray]) -> None:
        """Set every target, recompute the derived values, then the MuJoCo constants."""
        values = params.as_dict()
        mujoco_changed = False
        for p in self.block.parameters:
            binding = bind(env, p.target)
            binding.set(_target_value(p, values[p.name], original[p.name]))
            mujoco_changed |= binding.mujoco
        for derived in self.block.derived:
            binding = bind(env, derived.target)
            binding.set(derived.expression.evaluate(functools.partial(_lookup, env, values)))
            mujoco_changed |= binding.mujoco
        if mujoco_changed:
            import mujoco

            sim = env.unwrapped
            mujoco.mj_setConst(sim.model, sim.data)  # type: ignore[attr-defined]


def _target_value(p: WrappedParameter, value: float, original: np.ndarray) -> np.ndarray | float:
    """What a parameter's target is set to: the nominal value times a scale, or the value;
    a value equal to the default as tasks keep it (10 significant digits) restores the
    nominal value exactly, so that the default task is the environment bit for bit."""
    if p.scale:
        return original * value
    if canonical_value(float(original.reshape(-1)[0])) == value:
        return original
    return value


def _lookup(env: gym.Env[Any, Any], values: Mapping[str, float], name: str) -> float:
    """A name in a derived expression: an environment attribute (its value once the
    parameters are set), else a parameter of the spec (the task's value)."""
    try:
        value = bind(env, Target.parse(name)).get()
    except TargetError:
        if name in values:
            return float(values[name])
        raise
    if value.size != 1:
        raise TargetError(f"{name!r} holds {value.size} values; an expression needs one number")
    return float(value.reshape(-1)[0])


@functools.cache
def wrapped_family(block: GymnasiumBlock) -> type[GymnasiumFamily]:
    """The family class of a ``gymnasium:`` block (built once per process and block).

    :param block: the spec's validated block
    :raises SpecError: for an unknown id, a target that does not exist or addresses more
        than one value without ``scale``, a default outside its bounds, or a derived
        expression that cannot be evaluated
    :raises MissingExtraError: if the environment's simulator is not installed
    """
    attrs = {
        "name": block.family_name,
        "reference_id": block.env_id,
        "env_kwargs": MappingProxyType(dict(block.kwargs)),
        "block": block,
        "__module__": __name__,
        "__doc__": f"{block.env_id} with the parameters of a spec's gymnasium: block.",
    }
    cls: type[GymnasiumFamily] = type(f"Gymnasium[{block.env_id}]", (GymnasiumFamily,), attrs)
    env = _build(cls)
    try:
        defaults = {p.name: _default(env, block, p) for p in block.parameters}
        _check_derived(env, block, defaults)
    finally:
        env.close()
    cls.params_cls = _params_class(block, defaults)
    return cls


def _build(cls: type[GymnasiumFamily]) -> gym.Env[Any, Any]:
    try:
        return cls().build()
    except gym.error.Error as exc:
        raise SpecError(f"cannot build {cls.reference_id!r}: {exc}", field="gymnasium.id") from None
    except TypeError as exc:
        raise SpecError(
            f"gym.make({cls.reference_id!r}, **kwargs) failed: {exc}", field="gymnasium.kwargs"
        ) from None


def _default(env: gym.Env[Any, Any], block: GymnasiumBlock, p: WrappedParameter) -> float:
    """The parameter's default: its target's value (one number), or 1 for a scale."""
    where = f"gymnasium.parameters.{p.name}"
    try:
        value = bind(env, p.target).get()
    except TargetError as exc:
        raise SpecError(f"{block.env_id}: {exc}", field=f"{where}.target") from None
    if p.scale:
        return 1.0
    if value.size != 1:
        raise SpecError(
            f"{p.target.text} holds {value.size} values; index one entry (e.g. {p.target.text}[0]) "
            "or set scale: true to multiply all of them",
            field=f"{where}.target",
        )
    default = float(value.reshape(-1)[0])
    if not p.low <= default <= p.high:
        raise SpecError(
            f"the default {default:g} read from {block.env_id} lies outside the bounds "
            f"[{p.low:g}, {p.high:g}]; widen them",
            field=f"{where}.bounds",
        )
    return default


def _check_derived(env: gym.Env[Any, Any], block: GymnasiumBlock, defaults: Mapping[str, float]) -> None:
    """Every derived target exists and its expression evaluates; at the defaults it should
    give the value the environment holds (a warning says when it does not)."""
    for derived in block.derived:
        where = f"gymnasium.derived.{derived.target.text}"
        try:
            current = bind(env, derived.target).get()
            value = derived.expression.evaluate(functools.partial(_lookup, env, defaults))
        except (TargetError, ExpressionError) as exc:
            raise SpecError(f"{block.env_id}: {exc}", field=where) from None
        if not np.allclose(current, value, rtol=1e-9, atol=0.0):
            warnings.warn(
                f"{block.env_id}: derived {derived.target.text} = {derived.expression.text} gives {value:g} "
                f"at the defaults, but the environment holds {current}; check the expression",
                MtmlWarning,
                stacklevel=4,
            )


def _params_class(block: GymnasiumBlock, defaults: Mapping[str, float]) -> type[FamilyParams]:
    fields = []
    for p in block.parameters:
        doc = p.doc or (f"multiplier of {p.target.text}" if p.scale else p.target.text)
        spec = param(defaults[p.name], low=p.low, high=p.high, unit=p.unit, doc=doc)
        fields.append((p.name, float, spec))
    namespace = {"family": block.family_name, "__module__": __name__}
    cls = dataclasses.make_dataclass(
        f"{block.family_name}_params", fields, bases=(FamilyParams,), frozen=True, namespace=namespace
    )
    return cls
