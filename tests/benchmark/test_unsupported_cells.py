"""A grid cell whose method does not support the env (``pearl``, SAC only, on a discrete-action
family) is left out with one line that names it (the report and the CLI's summary say it too:
tests/benchmark/test_benchmark_local.py); a grid with nothing else is refused, and training
such a cell directly is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmark_helpers import CARTPOLE, tiny_grid

from mtml_rl.benchmark.trials import plan_grid
from mtml_rl.errors import ConfigError
from mtml_rl.training import TrainConfig, train

PENDULUM = "mtml/Pendulum-v0"
PEARL_SAC = {"pearl": {"algo": "sac"}}


def test_pearl_on_a_discrete_family_is_left_out_and_named(tmp_path: Path) -> None:
    grid = tiny_grid(
        tmp_path / "out",
        envs=[CARTPOLE, PENDULUM],
        methods=["dr", "pearl"],
        method_overrides=PEARL_SAC,
        train={"eval_freq": 0},  # the tiny grid's PPO hyperparameters would be refused by SAC
    )
    plan = plan_grid(grid)
    assert sorted(t.name for t in plan.trials) == [
        "CartPole-dr-s0",
        "CartPole-dr-s1",
        "Pendulum-dr-s0",
        "Pendulum-dr-s1",
        "Pendulum-pearl-s0",
        "Pendulum-pearl-s1",
    ]
    (cell,) = plan.unsupported
    assert (cell.env, cell.method) == (CARTPOLE, "pearl")
    assert cell.note.startswith(f"pearl on {CARTPOLE}: not run")
    assert "continuous (Box) actions" in cell.note and "Discrete(2)" in cell.note


def test_a_grid_of_unsupported_cells_only_is_refused_naming_them(tmp_path: Path) -> None:
    grid = tiny_grid(tmp_path / "out", methods=["pearl"], method_overrides=PEARL_SAC)
    with pytest.raises(ConfigError, match=f"no trial to run.*pearl on {CARTPOLE}: not run"):
        plan_grid(grid)
    assert not (tmp_path / "out").exists()


def test_training_pearl_on_a_discrete_family_is_refused(tmp_path: Path) -> None:
    config = TrainConfig(env=CARTPOLE, method="pearl", algo="sac", timesteps=100, out=str(tmp_path / "run"))
    expected = "needs continuous \\(Box\\) actions, but mtml/CartPole-v0 has Discrete"
    with pytest.raises(ConfigError, match=expected):
        train(config, progress=False)
    assert not (tmp_path / "run").exists()
