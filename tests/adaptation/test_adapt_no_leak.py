"""No deployed method reads the true context; the oracle, by definition, does.

``adapt``'s policy network was trained with a ``context`` entry, so its actions are
compared with that entry holding the true (normalized) context, zeros and NaN: they
(and the action distributions behind them) must be identical. Every other deployed
method has no context entry at all: its agent asks for ``hidden`` observations and its
environment has no ``context`` key. The oracle is the privileged upper bound; the test
checks that its distribution does change with the context, which shows that the
comparison used for ``adapt`` would catch a leak.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from adaptation_helpers import DEPLOYED_METHODS, HAS_LOADING, TinyRun, deployed_agent
from stable_baselines3.common.policies import ActorCriticPolicy

from mtml_rl.adaptation.module import AdaptationModule, acting_with
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run

FILLS = ("truth", "zeros", "nan")
STEPS = 40


def _privileged_batches(run: Run, history_len: int) -> list[dict[str, np.ndarray]]:
    """Observations (true context included) of random play on the interpolation tasks."""
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks)
    venv = MultiTaskVectorEnv(
        run.spec, num_envs=len(tasks), tasks=tasks, context="privileged", history_len=history_len
    )
    venv.action_space.seed(3)
    obs, _ = venv.reset(seed=3)
    batches = []
    for _ in range(STEPS):
        batches.append({k: v.copy() for k, v in obs.items()})
        obs, *_ = venv.step(venv.action_space.sample())
    venv.close()
    return batches


def _filled(obs: dict[str, np.ndarray], fill: str) -> dict[str, np.ndarray]:
    context = obs["context"]
    value = {"truth": context, "zeros": np.zeros_like(context), "nan": np.full_like(context, np.nan)}[fill]
    return {**obs, "context": value}


def _policy_output(
    run: Run, obs: dict[str, np.ndarray], module: AdaptationModule | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic actions and the action distribution's logits (acting with ``ẑ`` from
    ``module`` if given, else with the context entry)."""
    if run.normalizer is not None:
        obs = run.normalizer.normalize_obs(obs)  # type: ignore[assignment]
    policy = run.model.policy
    assert isinstance(policy, ActorCriticPolicy)
    tensor, _ = policy.obs_to_tensor(obs)
    latent_source = acting_with(policy, module) if module is not None else nullcontext()
    with th.no_grad(), latent_source:
        categorical: Any = policy.get_distribution(tensor).distribution
        logits = categorical.logits.numpy()
        actions, _ = run.model.predict(obs, deterministic=True)
    return np.asarray(actions), logits


def _deployed_observations(run: Run, agent: Any) -> Any:
    """First observations of an environment built to the agent's requirements (as evaluation does)."""
    req = agent.requirements
    venv = MultiTaskVectorEnv(
        run.spec, num_envs=2, split="test-interpolation", context=req.context, history_len=req.history_len
    )
    obs, _ = venv.reset(seed=0)
    venv.close()
    return obs


def test_adapt_actions_ignore_the_context_slot(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    agent = deployed_agent(run)
    assert isinstance(agent, AdaptAgent)
    assert agent.privileged is False and agent.requirements.context == "hidden"
    for obs in _privileged_batches(run, run.config.history_len):
        outputs = [_policy_output(run, _filled(obs, fill), agent.module) for fill in FILLS]
        for actions, logits in outputs[1:]:
            np.testing.assert_array_equal(actions, outputs[0][0])
            np.testing.assert_array_equal(logits, outputs[0][1])
        assert not np.isnan(outputs[0][1]).any()
        hidden = {k: v for k, v in obs.items() if k != "context"}
        np.testing.assert_array_equal(agent.act(hidden), outputs[0][0])


def test_adapt_deploys_in_environments_without_context(tiny_run: TinyRun) -> None:
    run = tiny_run("adapt")
    agent = deployed_agent(run)
    obs = _deployed_observations(run, agent)
    assert isinstance(obs, dict) and "context" not in obs
    assert agent.act(obs).shape == (2,)


def test_oracle_is_privileged_and_reads_the_context(tiny_run: TinyRun) -> None:
    run = tiny_run("oracle")
    agent = deployed_agent(run)
    assert agent.privileged is True
    assert agent.requirements.context == "privileged"
    batches = _privileged_batches(run, 0)
    truth = np.concatenate([_policy_output(run, _filled(b, "truth"))[1] for b in batches])
    zeros = np.concatenate([_policy_output(run, _filled(b, "zeros"))[1] for b in batches])
    assert not np.array_equal(truth, zeros)


def _method_available(method: str) -> None:
    if method in ("rl2", "finetune") and not HAS_LOADING:
        pytest.skip("mtml_rl.agents.loading is not there yet")


@pytest.mark.parametrize("method", [m for m in DEPLOYED_METHODS if m != "adapt"])
def test_context_blind_methods_never_see_a_context(tiny_run: TinyRun, method: str) -> None:
    _method_available(method)
    run = tiny_run(method)
    agent = deployed_agent(run)
    assert agent.privileged is False
    assert agent.requirements.context == "hidden"
    space = run.model.observation_space
    assert not (isinstance(space, gym.spaces.Dict) and "context" in space.spaces)
    obs = _deployed_observations(run, agent)
    assert not (isinstance(obs, dict) and "context" in obs)


def test_every_deployed_method_is_covered() -> None:
    expected = {"dr", "history", "adapt", "pearl"} | ({"rl2", "finetune"} if HAS_LOADING else set())
    assert expected <= set(DEPLOYED_METHODS)
