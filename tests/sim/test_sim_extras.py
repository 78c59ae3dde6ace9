"""MuJoCo, Box2D and Meta-World are optional: ``import mtml_rl`` works without them, and using an id
that needs one names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest

from mtml_rl.families.sim import MissingExtraError

BLOCKED_IMPORTS = """
import sys
for name in ("mujoco", "Box2D", "metaworld"):
    sys.modules[name] = None  # any import of it now raises ImportError
"""


@pytest.mark.parametrize(
    ("module", "spec_id", "extra"),
    [
        ("mujoco", "mtml/HopperParams-v0", "mujoco"),
        ("mujoco", "mtml/AntGoal-v1", "mujoco"),
        ("Box2D", "mtml/LunarLander-v0", "box2d"),
        ("metaworld", "mtml/ML1_reach-v3", "metaworld"),
        ("metaworld", "mtml/MT10-v3", "metaworld"),
    ],
)
def test_a_missing_simulator_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, spec_id: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=f'pip install "mtml-rl\\[{extra}\\]"') as caught:
        gym.make(spec_id)
    assert isinstance(caught.value, ImportError)
    assert repr(module) in str(caught.value)


@pytest.mark.slow
def test_import_and_registration_need_no_simulator() -> None:
    code = (
        BLOCKED_IMPORTS
        + """
import gymnasium as gym
import mtml_rl
from mtml_rl.families.sim import MissingExtraError
assert "mtml/HalfCheetahVel-v0" in gym.registry and "mtml/LunarLander-v0" in gym.registry
assert "mtml/ML1_push-v3" in gym.registry and "mtml/ML10-v3" in gym.registry
mtml_rl.build_splits(mtml_rl.resolve_spec("mtml/AntGoal-v1"))
mtml_rl.build_splits(mtml_rl.resolve_spec("mtml/ML10-v3"))  # Meta-World's tasks, without Meta-World
env = gym.make("mtml/CartPole-v0")
env.reset(seed=0)
try:
    gym.make("mtml/HalfCheetahVel-v0")
except MissingExtraError as exc:
    print(exc)
"""
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "mtml-rl[mujoco]"' in result.stdout


@pytest.mark.slow
def test_importing_the_package_imports_no_simulator() -> None:
    code = (
        "import sys, mtml_rl; mtml_rl.builtin_specs(); "
        "print(sorted({'mujoco', 'Box2D', 'metaworld'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
