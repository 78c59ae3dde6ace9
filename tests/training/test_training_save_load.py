"""Save and load round trip: same deterministic actions, normalization statistics restored."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from training_helpers import CARTPOLE, PENDULUM, ConfigFactory, assert_same_params

from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import CheckpointError
from mtml_rl.training import Run, train


def fixed_observations(run: Run, steps: int = 20) -> list[Any]:
    """Observations of a seeded rollout with seeded random actions, in the run's layout."""
    layout = run.method.layout(run.config)
    venv = MultiTaskVectorEnv(
        run.spec,
        num_envs=4,
        split="test-interpolation",
        context=layout.context,
        history_len=layout.history_len,
    )
    venv.action_space.seed(3)
    obs, _ = venv.reset(seed=7)
    seen = [obs]
    for _ in range(steps):
        obs, *_ = venv.step(venv.action_space.sample())
        seen.append(obs)
    venv.close()
    return seen


@pytest.mark.parametrize(
    ("env", "algo", "method"),
    [(CARTPOLE, "ppo", "history"), (PENDULUM, "ppo", "oracle"), (PENDULUM, "td3", "adapt")],
)
@pytest.mark.fast_subset({"algo": "ppo"})  # an adapt agent's load: the evaluation tests
def test_load_gives_identical_actions(config: ConfigFactory, env: str, algo: str, method: str) -> None:
    run = train(config(env=env, algo=algo, method=method, timesteps=512), progress=False)
    loaded = Run.load(run.path)
    assert loaded.config == run.config
    assert_same_params(run.model, loaded.model)
    for obs in fixed_observations(run):
        np.testing.assert_array_equal(run.act(obs), loaded.act(obs))


def test_normalization_statistics_restored(config: ConfigFactory) -> None:
    run = train(
        config(env=PENDULUM, timesteps=1024, hyperparams={"n_steps": 64, "normalize": True}), progress=False
    )
    assert run.normalizer is not None
    assert run.normalizer.obs_rms["obs"].count > 1000  # the statistics really were updated
    loaded = Run.load(run.path)
    assert loaded.normalizer is not None and not loaded.normalizer.training
    assert loaded.normalizer.obs_rms.keys() == run.normalizer.obs_rms.keys() == {"obs"}
    np.testing.assert_array_equal(loaded.normalizer.obs_rms["obs"].mean, run.normalizer.obs_rms["obs"].mean)
    np.testing.assert_array_equal(loaded.normalizer.obs_rms["obs"].var, run.normalizer.obs_rms["obs"].var)
    np.testing.assert_array_equal(loaded.normalizer.ret_rms.var, run.normalizer.ret_rms.var)
    obs = fixed_observations(run, steps=3)[-1]
    np.testing.assert_array_equal(
        loaded.normalizer.normalize_obs(obs)["obs"], run.normalizer.normalize_obs(obs)["obs"]
    )
    np.testing.assert_array_equal(run.act(obs), loaded.act(obs))
    assert [r.ret for r in run.evaluate()] == [r.ret for r in loaded.evaluate()]


@pytest.mark.slow
def test_load_best_and_latest(config: ConfigFactory) -> None:
    run = train(config(timesteps=1024, eval_freq=512, eval_tasks=2, save_freq=512), progress=False)
    best = json.loads((run.path / "best" / "eval.json").read_text())
    assert Run.load(run.path, which="best").model.num_timesteps == best["steps"]
    assert Run.load(run.path, which="latest").model.num_timesteps == 1024
    assert Run.load(run.path, which="final").model.num_timesteps == 1024
    first = Run.load(run.path, which="step_512")
    assert first.model_dir == run.path / "checkpoints" / "step_512" and first.model.num_timesteps == 512
    with pytest.raises(CheckpointError, match="has no checkpoint step_256; its checkpoints: step_512"):
        Run.load(run.path, which="step_256")
