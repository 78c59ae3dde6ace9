"""Every method builds and trains a few hundred steps with every algorithm that fits."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from training_helpers import CARTPOLE, PENDULUM, ConfigFactory

from mtml_rl.policies import MetaExtractor
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train

METHODS = ("dr", "oracle", "history", "adapt")
"""The meta-policy's methods (baselines such as rl2 are tested with their own code)."""
FITTING_ALGOS = {CARTPOLE: ("ppo", "a2c"), PENDULUM: ("ppo", "a2c", "sac", "td3")}
CASES = [(env, algo, method) for env, algos in FITTING_ALGOS.items() for algo in algos for method in METHODS]
LATENT_INPUTS = {"dr": None, "oracle": "context", "history": "history", "adapt": "context"}
"""What feeds each method's task latent."""
EXPECTED_KEYS = {
    "dr": None,
    "oracle": {"obs", "context"},
    "history": {"obs", "history"},
    "adapt": {"obs", "context", "history"},
}


def logged_updates(run_dir: Path) -> float:
    """The last ``train/n_updates`` value in the run's CSV log (0 if it never trained)."""
    with open(run_dir / "logs" / "progress.csv", newline="") as handle:
        values = [row.get("train/n_updates") for row in csv.DictReader(handle)]
    numbers = [float(v) for v in values if v]
    return max(numbers, default=0.0)


def assert_own_bounded_history_encoders(policy: object, extractors: list[MetaExtractor]) -> None:
    """``history``: the actor's history encoder is not the critic's, and its ``z`` is in [-1, 1]
    even for a history far outside what normalization produces."""
    assert all(e.history_tanh for e in extractors)
    actor = getattr(policy, "pi_features_extractor", None) or policy.actor.features_extractor  # type: ignore[attr-defined]
    critic = getattr(policy, "vf_features_extractor", None) or policy.critic.features_extractor  # type: ignore[attr-defined]
    assert actor is not critic and actor.history_encoder is not critic.history_encoder
    space = policy.observation_space  # type: ignore[attr-defined]
    batch = {k: th.full((3, *s.shape), 100.0) for k, s in space.spaces.items()}
    with th.no_grad():
        z = actor.latent(batch)
    assert z is not None and float(z.abs().max()) <= 1.0


@pytest.mark.parametrize(
    ("env", "algo", "method"), CASES, ids=[f"{e.split('/')[1]}-{a}-{m}" for e, a, m in CASES]
)
@pytest.mark.fast_subset(  # every method, every algorithm and both action spaces at least once
    {"env": CARTPOLE, "algo": "ppo", "method": "oracle"},
    {"env": CARTPOLE, "algo": "a2c", "method": "dr"},
    {"env": PENDULUM, "algo": "ppo", "method": "history"},
    {"env": PENDULUM, "algo": "a2c", "method": "adapt"},
    {"env": PENDULUM, "algo": "sac", "method": "adapt"},
    {"env": PENDULUM, "algo": "td3", "method": "history"},
)
def test_method_trains_with_algo(config: ConfigFactory, env: str, algo: str, method: str) -> None:
    timesteps = 256
    run = train(config(env=env, algo=algo, method=method, timesteps=timesteps, n_envs=4), progress=False)
    assert run.model.num_timesteps >= timesteps
    extractors = [m for m in run.model.policy.modules() if isinstance(m, MetaExtractor)]
    assert extractors and all(e.latent_input == LATENT_INPUTS[method] for e in extractors)
    space = run.model.observation_space
    expected = EXPECTED_KEYS[method]
    if expected is None:
        assert isinstance(space, spaces.Box)
    else:
        assert isinstance(space, spaces.Dict) and set(space.spaces) == expected
    assert logged_updates(run.path) > 0, "the model was never updated"
    if method == "history":
        assert_own_bounded_history_encoders(run.model.policy, extractors)
    loaded = Run.load(run.path)
    tasks = build_splits(loaded.spec)["test-interpolation"].tasks[:4]
    records = loaded.evaluate(tasks=tasks)
    assert [r.task for r in records] == list(tasks)
    assert all(np.isfinite(r.ret) for r in records)
