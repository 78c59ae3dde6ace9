"""Whether each varying parameter of a spec changes its environment at all.

A spec that wraps a Gymnasium environment (a ``gymnasium:`` block) names the attributes or
MuJoCo entries its parameters set. One that the environment's step never reads (a value the
constructor cached elsewhere, an attribute used only at construction) makes every task the
same along it, which nothing else shows before a grid has trained and reports "no meaningful
gap". :func:`inert_parameters` plays the same seeded actions at both ends of each
parameter's train region and names the parameters whose two trajectories are identical.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mtml_rl.envs.factory import make_task_env
from mtml_rl.errors import MtmlWarning, TaskError
from mtml_rl.specs.spec import Region, TaskSpec, VaryingParameter

PROBE_STEPS = 200
"""Steps each probe plays (fewer if an episode ends first)."""

_PROBED: set[str] = set()
"""The content hashes of the wrapped specs this process has probed for inert parameters."""


def warn_inert_parameters(spec: TaskSpec) -> None:
    """Warn (once per process and spec) about a varying parameter of a spec that wraps a
    Gymnasium environment which changed nothing in a probe of random actions
    (:func:`~mtml_rl.envs.parameter_effects.inert_parameters`): its tasks may all be one."""
    if spec.gymnasium is None or spec.content_hash() in _PROBED:
        return
    _PROBED.add(spec.content_hash())
    for name in inert_parameters(spec):
        warnings.warn(
            f"{spec.id}: parameter {name!r} changed nothing in {PROBE_STEPS} steps of random actions "
            f"at both ends of its train range: check that {spec.gymnasium.env_id}'s step reads its "
            "target (a value the constructor computed from it needs a 'derived' entry, "
            "docs/families.md)",
            MtmlWarning,
            stacklevel=3,
        )


def inert_parameters(spec: TaskSpec, steps: int = PROBE_STEPS) -> list[str]:
    """The varying parameters of ``spec`` whose two ends of the train region (its first two
    values, for a categorical one) give the same observations, rewards and episode ends for
    ``steps`` steps of the same seeded random actions, the others at their defaults (a
    parameter whose ends the family rejects there is left out: not shown inert).

    Random actions can miss an effect that only a skilled policy meets (a sparse reward at a
    goal): a name here is a reason to look, not a proof."""
    return [
        p.name
        for p in spec.parameters
        if (ends := _ends(p)) is not None and _same_play(spec, p.name, ends, steps)
    ]


def _ends(p: VaryingParameter) -> tuple[Any, Any] | None:
    """Two values of ``p`` as far apart as its train region allows (``None``: it has one)."""
    if isinstance(p.train, Region):
        low, high = p.train.intervals[0].low, p.train.intervals[-1].high
        return (low, high) if low != high else None
    values = p.train.values
    return (values[0], values[1]) if len(values) > 1 else None


def _same_play(spec: TaskSpec, name: str, ends: tuple[Any, Any], steps: int) -> bool:
    try:
        first, second = (_play(spec, {name: value}, steps) for value in ends)
    except TaskError:  # a task the family rejects with the others at their defaults
        return False
    return len(first) == len(second) and all(_same(a, b) for a, b in zip(first, second, strict=True))


def _play(spec: TaskSpec, task: dict[str, Any], steps: int) -> list[tuple[Any, ...]]:
    """What ``steps`` seeded random actions give in the task ``task`` (others at defaults)."""
    env = make_task_env(spec, task=task)
    try:
        env.action_space.seed(0)
        obs, _ = env.reset(seed=0)
        seen: list[tuple[Any, ...]] = [(obs,)]
        for _ in range(steps):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.append((obs, float(reward), bool(terminated), bool(truncated)))
            if terminated or truncated:
                break
        return seen
    finally:
        env.close()


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    return bool(np.array_equal(np.asarray(x), np.asarray(y)))
