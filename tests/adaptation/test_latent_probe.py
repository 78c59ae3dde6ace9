"""The latent-error probe of an ``adapt`` evaluation measures ``|ẑ − z|`` against the targets
phase 2 regressed on: ``z`` from each slot's true context and ``ẑ`` from the history, both
normalized as the run's normalizer passes them to the policy, with or without the context
among the normalized entries."""

from __future__ import annotations

from typing import cast

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from adaptation_helpers import CARTPOLE, TinyRun
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from mtml_rl.adaptation.module import acting_extractor
from mtml_rl.adaptation.probe import LatentProbe
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.envs.observation import ContextCodec
from mtml_rl.families.base import Family
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run


def _normalizer(run: Run, keys: tuple[str, ...]) -> VecNormalize:
    """A normalizer over ``keys`` of the run's observations, with statistics far from 0 and 1."""
    env = DummyVecEnv([lambda: gym.make(CARTPOLE, context="privileged", history_len=run.config.history_len)])
    assert env.observation_space == run.model.observation_space
    normalizer = VecNormalize(env, norm_obs_keys=list(keys), norm_reward=False)
    rng = np.random.default_rng(3)
    for key in keys:
        stats = normalizer.obs_rms[key]  # type: ignore[index]
        stats.mean = rng.normal(0.0, 1.0, size=stats.mean.shape)
        stats.var = rng.uniform(0.25, 4.0, size=stats.var.shape)
    return normalizer


@pytest.mark.parametrize("keys", [None, ("obs", "history"), ("obs", "history", "context")])
def test_latent_errors_are_measured_against_phase_2s_targets(
    tiny_run: TinyRun, keys: tuple[str, ...] | None
) -> None:
    run = tiny_run("adapt")
    module = AdaptAgent(run).module
    normalizer = _normalizer(run, keys) if keys is not None else None
    tasks = list(build_splits(run.spec)["train"].tasks)[:6]
    probe = LatentProbe(run.model, normalizer, module, run.spec, tasks)

    space = cast(gym.spaces.Dict, run.model.observation_space)
    space.seed(0)
    samples = [space.sample() for _ in tasks]
    obs = {key: np.stack([s[key] for s in samples]) for key in space.spaces if key != "context"}
    contexts = ContextCodec(run.spec, cast("type[Family]", run.spec.family_cls)).encode(tasks)
    full = {**obs, "context": contexts}
    if normalizer is not None:
        full = normalizer.normalize_obs(full)  # type: ignore[assignment]
    encoder = acting_extractor(run.model.policy).env_encoder
    assert encoder is not None
    with th.no_grad():
        z = encoder(th.as_tensor(full["context"], dtype=th.float32))
        z_hat = module(th.as_tensor(full["history"], dtype=th.float32))

    expected = (z_hat - z).abs().mean(dim=1).numpy()
    np.testing.assert_allclose(probe.errors(obs), expected, rtol=1e-6)
    np.testing.assert_allclose(probe.errors(obs), expected, rtol=1e-6)  # z is kept, not moved
    baseline = (module.mean_latent - z).abs().mean(dim=1).numpy()
    np.testing.assert_allclose(probe.mean_latent_errors(), baseline, rtol=1e-6)
