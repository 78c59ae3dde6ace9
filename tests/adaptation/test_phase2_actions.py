"""Phase 2's rollout actions: some slots act with the mean action (as deployed), the others
sample as in training, with exploration noise drawn afresh (gSDE's included)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from mtml_rl.adaptation.phase2 import act

SHAPES = {"obs": (2,), "history": (6,)}


class DictEnv(gym.Env[Any, Any]):
    """Only spaces: a dict observation and one continuous action."""

    observation_space = gym.spaces.Dict({key: gym.spaces.Box(-1.0, 1.0, s) for key, s in SHAPES.items()})
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> Any:
        return self.observation_space.sample(), 0.0, False, False, {}


@pytest.mark.parametrize("use_sde", [True, False])
def test_sampling_slots_draw_fresh_noise_and_mean_slots_do_not(use_sde: bool) -> None:
    kwargs: dict[str, Any] = {"use_sde": True, "sde_sample_freq": 8} if use_sde else {}
    policy_kwargs = {"log_std_init": -3.0}  # small noise: no sampled action clipped to the bounds
    model = PPO(
        "MultiInputPolicy",
        DictEnv(),
        n_steps=8,
        batch_size=8,
        seed=0,
        device="cpu",
        policy_kwargs=policy_kwargs,
        **kwargs,
    )
    if use_sde:
        model.policy.reset_noise(8)  # as training leaves it: a matrix per training slot
    rng = np.random.default_rng(0)
    one = {key: rng.uniform(-0.5, 0.5, (1, *shape)).astype(np.float32) for key, shape in SHAPES.items()}
    same = {key: np.repeat(value, 16, axis=0) for key, value in one.items()}
    mean_action = model.predict(one, deterministic=True)[0]
    first, second = act(model, same, 4), act(model, same, 4)
    assert first.shape == (16, 1)
    np.testing.assert_allclose(first[:4], np.repeat(mean_action, 4, axis=0), atol=1e-6)
    np.testing.assert_array_equal(second[:4], first[:4])
    # the same observation in every slot: sampled actions differ between slots and steps
    assert len(np.unique(first[4:])) == 12
    assert not np.any(first[4:] == second[4:])
    np.testing.assert_allclose(act(model, same, 16), np.repeat(mean_action, 16, axis=0), atol=1e-6)
