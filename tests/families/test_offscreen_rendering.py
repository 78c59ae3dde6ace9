"""Frames drawn with pygame on a machine without a display: SDL's dummy video driver, so that
SDL does not print an error line for a frame it draws fine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mtml_rl.families.rendering import draw_offscreen_without_display

DISPLAYS = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ({}, "dummy"),
        ({"DISPLAY": ":0"}, None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, None),
        ({"SDL_VIDEODRIVER": "x11"}, "x11"),
    ],
)
def test_the_dummy_driver_only_without_a_display_or_a_chosen_driver(
    given: dict[str, str], driver: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DISPLAYS:
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    draw_offscreen_without_display()
    assert os.environ.get("SDL_VIDEODRIVER") == driver


def test_a_frame_drawn_without_a_display_prints_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k not in (*DISPLAYS, "XDG_RUNTIME_DIR")}
    code = (
        "import gymnasium as gym, mtml_rl\n"
        "for gym_id in ('mtml/CartPole-v0', 'mtml/LunarLander-v0'):\n"
        "    e = gym.make(gym_id, render_mode='rgb_array'); e.reset(seed=0)\n"
        "    print(e.render().shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["(400, 600, 3)", "(400, 600, 3)"]
    assert "XDG_RUNTIME_DIR" not in done.stdout + done.stderr
