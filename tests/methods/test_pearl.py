"""The PEARL-style baseline: a permutation-invariant Gaussian posterior with a KL bottleneck,
trained through SAC's critic; deployed with posterior sampling in a trial's first episode
and the posterior mean after it, the context withheld."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
from baseline_helpers import PENDULUM, tiny_config
from gymnasium import spaces
from stable_baselines3.common.policies import ContinuousCritic

from mtml_rl.agents.loading import load_agent
from mtml_rl.agents.pearl import PearlAgent
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import ConfigError
from mtml_rl.policies import pearl
from mtml_rl.policies.pearl import (
    KLGradient,
    PearlCritic,
    PearlExtractor,
    PearlPolicy,
    PosteriorEncoder,
    gaussian_kl,
)
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig, train

POINTNAV = "mtml/PointNav-v0"
TINY_SAC = {
    "learning_starts": 100,
    "batch_size": 32,
    "buffer_size": 5_000,
    "train_freq": 4,
    "policy_kwargs": {"net_arch": [32, 32], "features_extractor_kwargs": {"encoder_layers": [32]}},
}
"""SAC overrides that keep the runs cheap: small networks, a gradient step every 4 env steps
(still about 475 of them in 2,000 steps)."""


def pearl_config(out: Path, env: str, timesteps: int) -> TrainConfig:
    """A seeded one-slot SAC config of ``pearl`` on ``env``."""
    return tiny_config(
        out, "pearl", env=env, algo="sac", n_envs=1, timesteps=timesteps, hyperparams=dict(TINY_SAC)
    )


def test_the_posterior_ignores_the_order_of_the_transitions() -> None:
    th.manual_seed(0)
    encoder = PosteriorEncoder(transition_dim=7, latent_dim=3, hidden=(16,))
    transitions = th.randn(5, 12, 7)
    mu, var = encoder(transitions)
    shuffled_mu, shuffled_var = encoder(transitions[:, th.randperm(12)])
    th.testing.assert_close(mu, shuffled_mu)
    th.testing.assert_close(var, shuffled_var)
    assert (var > 0).all()
    _, narrower = encoder(th.cat([transitions, transitions], dim=1))  # twice the evidence
    th.testing.assert_close(narrower, var / 2)


def test_the_kl_bottleneck_adds_exactly_its_gradient() -> None:
    mu = th.randn(6, 4, requires_grad=True)
    var = (th.rand(6, 4) + 0.1).requires_grad_(True)
    out_mu, out_var = KLGradient.apply(mu, var, 0.3)
    (out_mu.sum() + 2 * out_var.sum()).backward()
    expected_mu = mu.detach().clone().requires_grad_(True)
    expected_var = var.detach().clone().requires_grad_(True)
    loss = expected_mu.sum() + 2 * expected_var.sum() + 0.3 * gaussian_kl(expected_mu, expected_var).mean()
    loss.backward()
    th.testing.assert_close(mu.grad, expected_mu.grad)
    th.testing.assert_close(var.grad, expected_var.grad)


def test_pearl_refuses_algorithms_other_than_sac(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "run", "pearl", env=PENDULUM, algo="ppo")
    with pytest.raises(ConfigError, match="pass --algo sac"):
        train(config, progress=False)


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``pearl`` trained 2,000 steps on Pendulum (trials of 2 episodes)."""
    return train(pearl_config(tmp_path_factory.mktemp("pearl") / "run", PENDULUM, 2_000), progress=False)


def _encoders(policy: PearlPolicy) -> tuple[PearlExtractor, PearlExtractor]:
    actor, critic = policy.actor.features_extractor, policy.critic.features_extractor
    assert isinstance(actor, PearlExtractor) and isinstance(critic, PearlExtractor)
    return actor, critic


@pytest.mark.slow
def test_the_encoder_is_trained_through_the_critic_and_read_by_the_actor(pendulum_run: Run) -> None:
    policy = pendulum_run.model.policy
    assert isinstance(policy, PearlPolicy)
    actor, critic = _encoders(policy)
    assert actor.encoder is None and critic.encoder is not None  # one encoder: the critic's
    actor_params = {id(p) for p in policy.actor.optimizer.param_groups[0]["params"]}
    assert not actor_params & {id(p) for p in critic.parameters()}  # the actor loss never trains it
    critic_params = {id(p) for p in policy.critic.optimizer.param_groups[0]["params"]}
    assert {id(p) for p in critic.encoder.parameters()} <= critic_params
    before = [p.detach().clone() for p in critic.encoder.parameters()]
    pendulum_run.model.train(gradient_steps=1, batch_size=32)  # one step of SB3's SAC, unmodified
    after = list(critic.encoder.parameters())
    assert all(not th.equal(b, a) for b, a in zip(before, after, strict=True))  # critic loss + KL


@pytest.mark.slow
@pytest.mark.parametrize("env", [PENDULUM, POINTNAV])
def test_pearl_trains_and_deploys_without_the_context(
    env: str, pendulum_run: Run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = (
        pendulum_run
        if env == PENDULUM
        else train(pearl_config(tmp_path_factory.mktemp("pn") / "run", env, 2_000), progress=False)
    )
    agent = load_agent(Run.load(run.path))
    assert isinstance(agent, PearlAgent)
    assert agent.privileged is False and agent.requirements.context == "hidden"
    assert agent.trial_episodes == 2
    venv = MultiTaskVectorEnv(
        run.spec, num_envs=2, split="test-interpolation", history_len=run.config.history_len
    )
    obs, _ = venv.reset(seed=0)
    venv.close()
    assert set(obs) == {"obs", "history"}  # no context to read
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks)[:3]
    episodes = rollout_agent(agent, run.spec, tasks, trials=1, trial_episodes=2, seed=100)
    assert len(episodes) == 6 and all(np.isfinite(e.ret) for e in episodes)
    assert {e.episode for e in episodes} == {0, 1}


@pytest.mark.slow
def test_posterior_sampling_then_the_posterior_mean(pendulum_run: Run) -> None:
    agent = PearlAgent(pendulum_run)
    agent.reset(3)
    first = agent.noise()
    assert (first != 0).all()  # every slot explores with its own held draw
    no = np.zeros(3, dtype=bool)
    agent.observe(np.zeros((3, 1)), np.zeros(3), no, no)
    np.testing.assert_array_equal(agent.noise(), first)  # held over the episode
    ended = np.array([True, False, False])
    agent.observe(np.zeros((3, 1)), np.zeros(3), ended, no)
    assert (agent.noise()[0] == 0).all()  # second episode: the posterior mean
    np.testing.assert_array_equal(agent.noise()[1:], first[1:])
    agent.observe(np.zeros((3, 1)), np.zeros(3), ended, ended)  # a new trial: a new draw
    assert (agent.noise()[0] != 0).all() and not np.array_equal(agent.noise()[0], first[0])
    obs = _observations(pendulum_run)
    sampled = [agent.act(obs) for _ in range(2)]
    np.testing.assert_array_equal(sampled[0], sampled[1])  # z held: deterministic actions repeat
    agent.observe(np.zeros((3, 1)), np.zeros(3), np.ones(3, dtype=bool), no)
    np.testing.assert_array_equal(agent.act(obs), pendulum_run.act(obs))  # the mean: as trained


def _observations(run: Run) -> dict[str, np.ndarray]:
    venv = MultiTaskVectorEnv(
        run.spec, num_envs=3, split="test-interpolation", history_len=run.config.history_len
    )
    obs, _ = venv.reset(seed=1)
    for _ in range(20):
        obs, *_ = venv.step(venv.action_space.sample())
    venv.close()
    return obs


def _count_encoder_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every forward pass of a posterior encoder (critic's and target's) from now on."""
    calls = [0]
    forward = PosteriorEncoder.forward

    def counted(self: PosteriorEncoder, transitions: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        calls[0] += 1
        return forward(self, transitions)

    monkeypatch.setattr(PosteriorEncoder, "forward", counted)
    return calls


def _recompute_every_posterior(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path before: every posterior from scratch, the actor's loss through the encoder."""

    def detached_posterior(self: PearlExtractor, obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        with th.no_grad():
            return self.posterior(obs)

    monkeypatch.setattr(PearlExtractor, "detached_posterior", detached_posterior)
    monkeypatch.setattr(PearlCritic, "forward", ContinuousCritic.forward)


@pytest.mark.slow
def test_each_posterior_once_trains_the_same_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = train(pearl_config(tmp_path / "now", PENDULUM, 400), progress=False)
    calls = _count_encoder_passes(monkeypatch)
    now.model.train(gradient_steps=3, batch_size=32)
    assert calls[0] == 3 * 4  # the actor's posterior on o reused for the critic's loss
    with monkeypatch.context() as before_path:
        _recompute_every_posterior(before_path)
        before = train(pearl_config(tmp_path / "before", PENDULUM, 400), progress=False)
        calls[0] = 0
        before.model.train(gradient_steps=3, batch_size=32)
        assert calls[0] == 3 * 5
    # the same seed, the same parameters: bit for bit, the 3 extra gradient steps included
    trained, reference = now.model.policy.state_dict(), before.model.policy.state_dict()
    assert trained.keys() == reference.keys()
    assert all(th.equal(trained[key], reference[key]) for key in trained)
    assert isinstance(now.model.policy.critic, PearlCritic)
    assert isinstance(now.model.policy.critic_target, PearlCritic)


@pytest.mark.slow
def test_the_critic_detaches_its_features_only_for_actions_with_a_gradient(pendulum_run: Run) -> None:
    policy = pendulum_run.model.policy
    assert isinstance(policy, PearlPolicy)
    policy.set_training_mode(True)
    obs = {k: th.as_tensor(v) for k, v in _observations(pendulum_run).items()}
    encoder = _encoders(policy)[1].encoder
    assert encoder is not None
    try:
        for actions, trains_encoder in ((th.zeros(3, 1), True), (th.zeros(3, 1, requires_grad=True), False)):
            policy.critic.zero_grad()
            sum(q.sum() for q in policy.critic(obs, actions)).backward()
            grads = [p.grad for p in encoder.parameters()]
            assert all(g is not None and bool(g.abs().sum() > 0) for g in grads) is trains_encoder
            if not trains_encoder:
                assert actions.grad is not None  # the actor's gradient still flows
    finally:
        policy.critic.zero_grad()
        policy.set_training_mode(False)


def _critic_gradients(critic: PearlCritic, batch: int = 4) -> tuple[th.Tensor, bool]:
    """Q-values of random actions that carry a gradient, and whether their backward pass
    reached the critic's posterior encoder."""
    generator = th.Generator().manual_seed(0)
    obs = {
        key: th.randn(batch, int(space.shape[0]), generator=generator)  # type: ignore[index]
        for key, space in critic.observation_space.spaces.items()  # type: ignore[attr-defined]
    }
    actions = th.randn(batch, 1, generator=generator, requires_grad=True)
    critic.zero_grad(set_to_none=True)
    th.manual_seed(1)  # the same posterior sample of z (the critic is in training mode)
    q_values = th.cat(critic(obs, actions), dim=1)
    q_values.sum().backward()
    extractor = critic.features_extractor
    assert isinstance(extractor, PearlExtractor) and extractor.encoder is not None
    return q_values.detach(), any(p.grad is not None for p in extractor.encoder.parameters())


def test_a_changed_sb3_critic_forward_is_left_to_run_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    th.manual_seed(0)
    observation_space = spaces.Dict(
        {"obs": spaces.Box(-1.0, 1.0, (3,)), "history": spaces.Box(-1.0, 1.0, (2 * 5,))}
    )
    policy = PearlPolicy(
        observation_space,
        spaces.Box(-1.0, 1.0, (1,)),
        lambda _: 1e-3,
        net_arch=[8],
        features_extractor_class=PearlExtractor,
        features_extractor_kwargs={"latent_dim": 2, "history_len": 2, "kl_weight": 0.1},
        share_features_extractor=False,
    )
    try:
        pearl.critic_forward_matches.cache_clear()
        assert pearl.critic_forward_matches()  # the installed SB3's forward is the one written out
        detached, reached = _critic_gradients(policy.critic)
        assert not reached  # the actor's loss does not go back through the encoder
        monkeypatch.setattr(pearl, "CRITIC_FORWARD_DIGESTS", frozenset({"0" * 64}))  # as a changed forward
        pearl.critic_forward_matches.cache_clear()
        own, reached = _critic_gradients(policy.critic)
        assert reached  # SB3's own forward ran
        assert th.equal(own, detached)
    finally:
        pearl.critic_forward_matches.cache_clear()
