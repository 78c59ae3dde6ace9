"""Registering every spec as a Gymnasium id, and ``make`` helpers that also take paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym

from mtml_rl.families.sim import is_sim_family
from mtml_rl.specs.spec import TaskSpec, builtin_specs, resolve_spec

ENTRY_POINT = "mtml_rl.envs.single:MultiTaskEnv"
VECTOR_ENTRY_POINT = "mtml_rl.envs.vector:MultiTaskVectorEnv"
SIM_ENTRY_POINT = "mtml_rl.envs.sim_env:SimMultiTaskEnv"


def register_spec(spec: TaskSpec, spec_ref: str | None = None) -> str:
    """Register ``spec`` under its id (re-registering replaces it); returns the id."""
    ref = spec_ref if spec_ref is not None else spec.id
    if spec.id in gym.registry:
        existing = gym.registry[spec.id].kwargs.get("spec")
        if existing == ref:
            return spec.id
        del gym.registry[spec.id]
    entry_point, vector_entry_point = _entry_points(spec)
    gym.register(
        id=spec.id,
        entry_point=entry_point,
        vector_entry_point=vector_entry_point,
        max_episode_steps=spec.max_episode_steps,
        kwargs={"spec": ref},
    )
    return spec.id


def _entry_points(spec: TaskSpec) -> tuple[str, str | None]:
    """Numpy families get the batched vector env; simulator-backed families (one simulator
    per env) get none, so ``gym.make_vec`` defaults to Gymnasium's ``SyncVectorEnv``."""
    if is_sim_family(spec.family_cls):
        return SIM_ENTRY_POINT, None
    return ENTRY_POINT, VECTOR_ENTRY_POINT


def register_builtin() -> list[str]:
    """Register every built-in spec; returns their ids."""
    return [register_spec(spec) for spec in builtin_specs().values()]


def _ensure_registered(id_or_path: str | Path | TaskSpec) -> str:
    text = str(id_or_path)
    if isinstance(id_or_path, TaskSpec):
        return register_spec(id_or_path, id_or_path.source)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        spec = resolve_spec(text)
        return register_spec(spec, str(Path(text).resolve()))
    return resolve_spec(text).id  # raises a did-you-mean error for unknown ids


@contextmanager
def _registry_rollback() -> Iterator[None]:
    """Undo registrations made inside the block if it raises (nothing is left half-built)."""
    before = dict(gym.registry)
    try:
        yield
    except BaseException:
        for env_id in set(gym.registry) - set(before):
            del gym.registry[env_id]
        gym.registry.update(before)
        raise


def make(id_or_path: str | Path | TaskSpec, **kwargs: Any) -> gym.Env[Any, Any]:
    """``gym.make`` that also accepts a spec file path (registered on the fly).

    If building the environment fails, the registry is left as it was.
    """
    with _registry_rollback():
        return gym.make(_ensure_registered(id_or_path), **kwargs)


def make_vec(id_or_path: str | Path | TaskSpec, num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv:
    """``gym.make_vec`` that also accepts a spec file path (registered on the fly).

    If building the environment fails, the registry is left as it was.
    """
    with _registry_rollback():
        return gym.make_vec(_ensure_registered(id_or_path), num_envs=num_envs, **kwargs)
