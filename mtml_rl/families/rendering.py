"""Frames drawn by Gymnasium's own environments, for families that reproduce one.

A family whose state has the layout of a Gymnasium classic-control env renders by
handing its state to a cached instance of that env (``render_mode="rgb_array"``), with
the attributes the drawing reads (a pole's length, a link's length ...) set to the
task's values for the one call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

import gymnasium as gym
import numpy as np

_MISSING = object()


def draw_offscreen_without_display() -> None:
    """Let pygame draw frames off-screen quietly where there is no display.

    Gymnasium's classic-control and Box2D envs draw ``rgb_array`` frames with pygame, whose
    first frame starts SDL's video; on a machine with no display SDL then prints ``error:
    XDG_RUNTIME_DIR is invalid or not set`` (once per process), though the frame is drawn.
    SDL's dummy video driver draws the same pixels without it. Set only where neither
    ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is (nothing could open a window there anyway) and
    ``SDL_VIDEODRIVER`` is unset.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@cache
def _reference_env(gym_id: str) -> gym.Env[Any, Any]:
    """One rendering instance per Gymnasium id (its pygame surface is reused)."""
    draw_offscreen_without_display()
    env = gym.make(gym_id, render_mode="rgb_array")
    env.reset(seed=0)
    return env


def render_reference(gym_id: str, state: np.ndarray, attrs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Draw ``state`` with Gymnasium's env ``gym_id``.

    :param gym_id: a Gymnasium id such as ``"CartPole-v1"``
    :param state: the state vector in that env's own layout (``env.unwrapped.state``)
    :param attrs: attributes of the unwrapped env to set for this frame (restored after)
    :return: an ``(H, W, 3)`` uint8 RGB frame
    """
    env = _reference_env(gym_id).unwrapped
    attrs = dict(attrs or {})
    saved = {name: env.__dict__.get(name, _MISSING) for name in attrs}
    try:
        for name, value in attrs.items():
            setattr(env, name, value)
        env.state = np.array(state, copy=True)  # type: ignore[attr-defined]
        frame = env.render()
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                delattr(env, name)
            else:
                setattr(env, name, value)
    if not isinstance(frame, np.ndarray):
        raise RuntimeError(f"{gym_id} returned {type(frame).__name__} from render(), expected an RGB array")
    return np.ascontiguousarray(frame, dtype=np.uint8)
