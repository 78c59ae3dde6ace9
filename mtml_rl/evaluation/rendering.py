"""Whether a spec's environments render frames here (checked before anything is evaluated)."""

from __future__ import annotations

from typing import cast

import numpy as np

from mtml_rl.envs.factory import is_sim_spec, make_task_env
from mtml_rl.errors import ConfigError
from mtml_rl.families.base import Family
from mtml_rl.families.sim import is_sim_family
from mtml_rl.specs.spec import TaskSpec


def check_family_renders(spec: TaskSpec) -> None:
    """Refuse a spec whose family cannot render frames (a :class:`ConfigError` naming the fix)."""
    family = spec.family_cls
    if is_sim_family(family):
        check_rendering(spec)
    elif cast("type[Family]", family).render_rgb is Family.render_rgb:
        raise ConfigError(f"family {spec.family!r} does not render frames; drop --video")


def check_rendering(spec: TaskSpec) -> int:
    """The frame rate of ``spec``'s videos, after checking that its env renders here.

    Simulator-backed families render through their simulator: MuJoCo needs an OpenGL
    backend (``MUJOCO_GL=egl`` or ``osmesa`` on a machine without a display), Box2D needs
    pygame. A failure is a :class:`ConfigError` that names the fix, raised before anything
    is evaluated.
    """
    if not is_sim_spec(spec):
        return int(cast("type[Family]", spec.family_cls).render_fps)
    try:
        env = make_task_env(spec, task={}, render_mode="rgb_array")
        fps = int(env.metadata.get("render_fps", 50))
        env.reset(seed=0)
        frame = env.render()
        env.close()
    except Exception as exc:  # the simulator's own errors: no OpenGL context, no pygame ...
        raise ConfigError(
            f"{spec.id} cannot render frames here ({type(exc).__name__}: {exc}); for MuJoCo families "
            "set MUJOCO_GL=egl (or osmesa) where that backend is installed, or drop --video"
        ) from None
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise ConfigError(f"{spec.id} rendered no RGB frame; drop --video")
    return fps
