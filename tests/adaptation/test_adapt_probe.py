"""``adapt_probe_steps``: the deployed ``adapt`` agent samples its actions for the first steps
of each trial, then acts with its mean action and ``z`` fixed at the mean of its last
estimates; evaluations with it repeat, and a new trial probes again."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th
from adaptation_helpers import CARTPOLE, EVAL_SEED, TinyRun

from mtml_rl.adaptation.module import acting_with_latents
from mtml_rl.adaptation.phase2 import act_mixed
from mtml_rl.agents import policy as policy_module
from mtml_rl.agents.policy import COMMIT_WINDOW, AdaptAgent
from mtml_rl.envs.factory import make_task_vector_env
from mtml_rl.errors import ConfigError
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import TrainConfig

SLOTS = 16


def _env_and_obs(agent: AdaptAgent) -> tuple[object, dict[str, np.ndarray]]:
    tasks = list(build_splits(agent.run.spec)["train"].tasks)[:SLOTS]
    venv = make_task_vector_env(
        agent.run.spec,
        num_envs=SLOTS,
        tasks=tasks,
        context="hidden",
        history_len=agent.run.config.history_len,
    )
    obs, _ = venv.reset(seed=EVAL_SEED)
    return venv, obs


def _estimates(agent: AdaptAgent, obs: dict[str, np.ndarray]) -> np.ndarray:
    history = obs["history"]
    if agent.run.normalizer is not None:
        history = agent.run.normalizer.normalize_obs(dict(obs))["history"]
    with th.no_grad():
        return agent.module(th.as_tensor(history, dtype=th.float32)).numpy()


def _mean_actions(agent: AdaptAgent, obs: dict[str, np.ndarray], latents: np.ndarray) -> np.ndarray:
    n = len(latents)
    full = {**obs, "context": np.full((n, agent.context_dim), np.nan, dtype=np.float32)}
    if agent.run.normalizer is not None:
        full = agent.run.normalizer.normalize_obs(full)
    with acting_with_latents(agent.run.model.policy, th.as_tensor(latents)):
        return np.asarray(agent.run.model.predict(full, deterministic=True)[0])


def _recording_actions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Record the (sampled, latents) each ``act`` hands to ``act_mixed``."""
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def recorded(model: Any, obs: Any, sampled: np.ndarray, latents: th.Tensor | None = None) -> np.ndarray:
        assert latents is not None
        calls.append((np.array(sampled), latents.numpy().copy()))
        return act_mixed(model, obs, sampled, latents)

    monkeypatch.setattr(policy_module, "act_mixed", recorded)
    return calls


def _step(venv: Any, agent: AdaptAgent, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    actions = agent.act(obs)
    obs, rewards, terminated, truncated, _ = venv.step(actions)
    agent.observe(actions, rewards, terminated | truncated, np.zeros(SLOTS, dtype=bool))
    return obs


def test_it_samples_while_it_probes_then_commits_to_its_last_estimates(
    tiny_run: TinyRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_actions(monkeypatch)
    probe = COMMIT_WINDOW + 3
    agent = AdaptAgent(tiny_run("adapt"), probe_steps=probe)
    venv, obs = _env_and_obs(agent)
    agent.reset(SLOTS)
    estimates = []
    for _ in range(probe):  # probing: sampled actions, z from the window
        assert agent.probing.all()
        estimates.append(_estimates(agent, obs))
        obs = _step(venv, agent, obs)
        sampled, latents = calls[-1]
        assert sampled.all()
        np.testing.assert_allclose(latents, estimates[-1], atol=1e-6)
    committed = np.mean(estimates[-COMMIT_WINDOW:], axis=0)
    assert not agent.probing.any()
    for _ in range(3):  # committed: the mean action with z fixed, whatever the window shows now
        now = _estimates(agent, obs)
        obs = _step(venv, agent, obs)
        sampled, latents = calls[-1]
        assert not sampled.any()
        np.testing.assert_allclose(latents, committed, atol=1e-6)
        assert not np.allclose(latents, now)
    actions = agent.act(obs)
    np.testing.assert_array_equal(actions, _mean_actions(agent, obs, committed))
    restart = np.zeros(SLOTS, dtype=bool)
    restart[:3] = True
    agent.observe(actions, np.zeros(SLOTS), restart, restart)  # a new trial (a new task) in three slots
    np.testing.assert_array_equal(agent.probing, restart)
    venv.close()


def test_a_probe_shorter_than_the_window_commits_to_every_estimate(
    tiny_run: TinyRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _recording_actions(monkeypatch)
    agent = AdaptAgent(tiny_run("adapt"), probe_steps=2)
    venv, obs = _env_and_obs(agent)
    agent.reset(SLOTS)
    estimates = []
    for _ in range(2):
        estimates.append(_estimates(agent, obs))
        obs = _step(venv, agent, obs)
    agent.act(obs)
    np.testing.assert_allclose(calls[-1][1], np.mean(estimates, axis=0), atol=1e-6)
    venv.close()


def test_evaluations_with_a_probe_repeat_and_leave_torchs_random_stream_alone(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks)[:6]
    th.manual_seed(7)
    rollout_agent(AdaptAgent(run), run.spec, tasks, trials=2, seed=EVAL_SEED)
    without_probe = th.random.get_rng_state()
    th.manual_seed(7)
    first = rollout_agent(AdaptAgent(run, probe_steps=20), run.spec, tasks, trials=2, seed=EVAL_SEED)
    assert th.equal(th.random.get_rng_state(), without_probe), "the probe draws from its own stream"
    second = rollout_agent(AdaptAgent(run, probe_steps=20), run.spec, tasks, trials=2, seed=EVAL_SEED)
    assert [e.rewards for e in first] == [e.rewards for e in second]


def test_the_run_config_sets_the_probe_and_a_negative_one_is_refused(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    assert AdaptAgent(run).probe_steps == run.config.adapt_probe_steps == 0
    with pytest.raises(ConfigError, match="adapt_probe_steps must be an integer >= 0"):
        TrainConfig(env=CARTPOLE, method="adapt", adapt_probe_steps=-1)
