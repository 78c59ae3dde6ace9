"""A family observes one vector of floats: what the encoders, the history window and the
context columns take. A wrapped Gymnasium env of image observations (``CarRacing-v3``) ended
in ``ppo cannot be built with these hyperparameters ...: mat1 and mat2 shapes cannot be
multiplied (9216x3 and 96x64)``, which blamed the hyperparameters; it is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium import spaces

import mtml_rl
from mtml_rl.cli.main import main
from mtml_rl.errors import FamilyError
from mtml_rl.families.cartpole import CartPole
from mtml_rl.families.checks import check_family_observations
from mtml_rl.families.wrap.discover import survey

CAR_RACING = {
    "name": "CarLapShare",
    "family": "gymnasium",
    "gymnasium": {"id": "CarRacing-v3", "parameters": {"lap_complete_percent": {"bounds": [0.5, 1.0]}}},
    "seed": 0,
    "max_episode_steps": 50,
    "parameters": {"lap_complete_percent": {"train": [0.9, 1.0], "extrapolation": [[0.5, 0.6]]}},
    "splits": {"train": 4, "test-interpolation": 2, "test-extrapolation": 2},
}


class GridCartPole(CartPole):
    """CartPole whose observation space says it is a 2 x 2 grid."""

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (2, 2))


def test_a_family_of_grid_observations_is_refused_with_the_fix() -> None:
    with pytest.raises(FamilyError, match=r"observes Box\(-1\.0, 1\.0, \(2, 2\), float32\), but the suite"):
        check_family_observations(GridCartPole())
    check_family_observations(CartPole())  # a vector passes


def test_a_wrapped_env_of_images_is_refused_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("Box2D")
    spec = tmp_path / "car.yaml"
    spec.write_text(yaml.safe_dump(CAR_RACING))
    with pytest.raises(FamilyError, match=r"\(96, 96, 3\).*gymnasium\.wrappers\.FlattenObservation"):
        mtml_rl.make(str(spec))
    out = tmp_path / "run"
    argv = ["train", "--env", str(spec), "--method", "dr", "--timesteps", "64", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtml-rl train: error: family ") and "observes Box" in err
    assert "hyperparameters" not in err and "Traceback" not in err and not out.exists()


class MultiButtonEnv(gym.Env[np.ndarray, np.ndarray]):
    """Observes a vector, acts with three on/off buttons (MultiBinary)."""

    observation_space = spaces.Box(-1.0, 1.0, (3,))
    action_space = spaces.MultiBinary(3)

    def step(self, action: Any) -> Any:  # never stepped here
        raise NotImplementedError


def test_space_problems_name_the_observations_and_actions_a_spec_cannot_take() -> None:
    gym.register("MultiButton-v0", entry_point=MultiButtonEnv)
    assert survey("MultiButton-v0").problems == [
        "its action space MultiBinary(3) is neither a bounded Box nor a Discrete space"
    ]
    assert survey("Pendulum-v1").problems == []
    (observations,) = survey("FrozenLake-v1").problems
    assert observations.startswith("it observes Discrete(16), not one vector of floats")
