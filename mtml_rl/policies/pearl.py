"""A PEARL-style probabilistic context encoder (Rakelly et al. 2019) as an SB3 features
extractor, trained through SAC's critic.

- **Context.** The transitions ``(o, a, r, o')`` of the history window: its rows
  ``(o_t, a_t, r_t)`` (:mod:`mtml_rl.envs.observation`), each paired with the next row's
  observation (the current observation for the newest row). The window carries over the
  episodes of a trial, so the context grows over a trial up to ``H`` transitions.
- **Posterior.** Every transition is encoded on its own to a Gaussian factor
  ``N(μ_i, σ_i²)``; the posterior ``q(z | c)`` is their product (precision-weighted), so it
  does not depend on the transitions' order (permutation invariant) and narrows as
  informative transitions accumulate.
- **KL bottleneck.** ``β · KL(q(z | c) ‖ N(0, I))`` (mean over the batch) is added to the
  critic's loss: :class:`KLGradient` adds its gradient on the way back, so SB3's SAC is
  used unmodified.
- **Trained through the critic.** The critic's extractor owns the encoder; the actor's
  extractor reads the critic's posterior, detached (:class:`PearlPolicy`), as in PEARL,
  where the actor loss does not train the encoder.
- **Each posterior once.** A gradient step of SB3's SAC asks for the posterior of the same
  batch twice before the critic's update (the actor's actions, then the critic's loss): the
  first request keeps its graph and the second reuses it (:class:`PosteriorCache`). When the
  critic scores the actor's actions for the actor's loss, its features are detached
  (:class:`PearlCritic`): that loss trains the actor only, so the backward pass through the
  encoder it would make is skipped (only where the installed SB3's ``ContinuousCritic.forward``
  is the one written out there: :data:`CRITIC_FORWARD_DIGESTS`). Both leave every gradient and
  parameter as they were.
- **Which z.** In training mode ``z`` is a reparameterized posterior sample; otherwise it is
  ``μ + σ · noise`` with :attr:`PearlExtractor.noise` (set by the deployed agent: a sample
  held over an exploration episode), the posterior mean when no noise is set.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.policies import BasePolicy, ContinuousCritic
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor, MultiInputPolicy
from torch import nn
from torch.nn import functional as F

from mtml_rl.policies.history import mlp
from mtml_rl.sources import has_source

MIN_VARIANCE = 1e-6
"""Floor of every Gaussian factor's variance (keeps the product finite)."""

CRITIC_FORWARD_DIGESTS = frozenset(
    {
        "ba33150d56455883595b1268201c21436c7fac01185d620114d1e6d88787e90f",  # SB3 2.4.0 and 2.4.1
        "4ca87cecd2b49c96f297df5e3b7ef1688c33980a53d8b90dfa47455deee95055",  # 2.5.0 to 2.9.2
    }
)
"""SHA-256 of the sources of SB3's ``ContinuousCritic.forward`` that :class:`PearlCritic`
writes out for its detached features (the same code; the type hint's spelling differs)."""


@functools.cache
def critic_forward_matches() -> bool:
    """Whether the installed SB3's ``ContinuousCritic.forward`` is one :class:`PearlCritic`
    writes out (``False`` also where it has no source to read)."""
    return has_source(ContinuousCritic.forward, CRITIC_FORWARD_DIGESTS)


class KLGradient(th.autograd.Function):
    """Identity on ``(μ, σ²)`` whose backward adds the gradient of
    ``weight · mean_b KL(N(μ_b, σ_b²) ‖ N(0, I))``, KL summed over the latent dimensions."""

    @staticmethod
    def forward(ctx: Any, mu: th.Tensor, var: th.Tensor, weight: float) -> tuple[th.Tensor, th.Tensor]:
        """Return copies of ``mu`` and ``var``; remember them for the KL's gradient."""
        ctx.save_for_backward(mu, var)
        ctx.weight = weight
        return mu.clone(), var.clone()

    @staticmethod
    def backward(ctx: Any, grad_mu: th.Tensor | None, grad_var: th.Tensor | None) -> tuple[Any, ...]:
        """Incoming gradients plus the KL's: ``w μ / B`` and ``w (1 − 1/σ²) / (2B)``."""
        mu, var = ctx.saved_tensors
        scale = ctx.weight / mu.shape[0]
        kl_mu = scale * mu
        kl_var = scale * 0.5 * (1.0 - 1.0 / var)
        return (
            kl_mu if grad_mu is None else grad_mu + kl_mu,
            kl_var if grad_var is None else grad_var + kl_var,
            None,
        )


def gaussian_kl(mu: th.Tensor, var: th.Tensor) -> th.Tensor:
    """``KL(N(μ, σ²) ‖ N(0, I))`` per row, summed over the latent dimensions."""
    return 0.5 * (var + mu.pow(2) - 1.0 - var.log()).sum(dim=-1)


def product_of_gaussians(mu: th.Tensor, var: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """``(B, N, L)`` factors -> ``(B, L)`` mean and variance of their normalized product."""
    precision = 1.0 / var
    post_var = 1.0 / precision.sum(dim=1)
    return post_var * (mu * precision).sum(dim=1), post_var


class PosteriorEncoder(nn.Module):
    """Transitions ``(B, N, F)`` -> the Gaussian posterior ``(μ, σ²)`` over ``z`` ``(B, L)``:
    one factor per transition, multiplied (independent of the transitions' order).

    :param transition_dim: ``F``, values per transition
    :param latent_dim: ``L``
    :param hidden: widths of the per-transition MLP
    """

    def __init__(self, transition_dim: int, latent_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.body = mlp([transition_dim, *hidden], nn.ReLU)
        self.head = nn.Linear(hidden[-1] if hidden else transition_dim, 2 * latent_dim)

    def forward(self, transitions: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """``(μ, σ²)`` of the posterior."""
        out = self.head(self.body(transitions))
        mu, raw = out[..., : self.latent_dim], out[..., self.latent_dim :]
        return product_of_gaussians(mu, F.softplus(raw) + MIN_VARIANCE)


def window_transitions(obs: th.Tensor, history: th.Tensor, history_len: int) -> th.Tensor:
    """The history window as transitions ``(o_t, a_t, r_t, o_{t+1})``, ``(B, H, D + O)``.

    :param obs: ``(B, O)`` current observations (the newest row's next observation)
    :param history: ``(B, H * D)`` flat window, oldest row first, ``D = O + A + 1``
    :param history_len: ``H``
    """
    rows = history.reshape(history.shape[0], history_len, -1)
    obs_dim = obs.shape[1]
    following = th.cat([rows[:, 1:, :obs_dim], obs.unsqueeze(1)], dim=1)
    return th.cat([rows, following], dim=2)


@dataclass
class PosteriorCache:
    """A posterior computed with its graph for one batch, kept for one reuse.

    It matches a later request only for the very same observation tensors (held here, so
    they cannot be freed and their memory reused), unmodified, and an encoder whose
    parameters have not changed since (their version counters, which every in-place update,
    an optimizer's step included, advances).
    """

    obs: th.Tensor
    history: th.Tensor
    versions: tuple[int, ...]
    mu: th.Tensor
    var: th.Tensor

    @staticmethod
    def versions_of(tensors: Sequence[th.Tensor]) -> tuple[int, ...]:
        """The version counters of ``tensors``."""
        return tuple(t._version for t in tensors)

    def matches(self, observations: dict[str, th.Tensor], parameters: Sequence[th.Tensor]) -> bool:
        """Whether this posterior is the one ``observations`` would get now."""
        obs, history = observations["obs"], observations["history"]
        return (
            obs is self.obs
            and history is self.history
            and self.versions == self.versions_of([obs, history, *parameters])
        )


class PearlExtractor(BaseFeaturesExtractor):
    """``features = [ObsEncoder(obs), z]``, ``z`` from the posterior over the history window.

    :param observation_space: a Dict with ``obs`` and ``history``
    :param latent_dim: size of ``z``
    :param history_len: ``H`` (to unflatten the window)
    :param obs_layers: hidden sizes of the observation encoder
    :param encoder_layers: hidden sizes of the per-transition encoder
    :param kl_weight: ``β``, the weight of the KL bottleneck in the critic's loss (the
        ``pearl`` method's default: :data:`mtml_rl.methods.pearl.KL_WEIGHT`)
    :param owns_encoder: build the posterior encoder (the critic's); ``False`` for the actor's,
        which reads another extractor's posterior (:meth:`read_posterior_of`)
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        latent_dim: int = 8,
        history_len: int = 16,
        obs_layers: Sequence[int] = (64,),
        encoder_layers: Sequence[int] = (64, 64),
        *,
        kl_weight: float,
        owns_encoder: bool = True,
    ) -> None:
        if not isinstance(observation_space, spaces.Dict) or "history" not in observation_space.spaces:
            raise ValueError("the PEARL-style encoder needs a Dict observation with a 'history' entry")
        obs_dim = int(observation_space["obs"].shape[0])  # type: ignore[index]
        size = int(observation_space["history"].shape[0])  # type: ignore[index]
        if history_len < 1 or size % history_len:
            raise ValueError(f"history_len={history_len} does not divide the history size {size}")
        super().__init__(observation_space, features_dim=(list(obs_layers) or [obs_dim])[-1] + latent_dim)
        self.history_len = history_len
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.obs_encoder = mlp([obs_dim, *obs_layers], nn.Tanh)
        transition_dim = size // history_len + obs_dim
        self.encoder = PosteriorEncoder(transition_dim, latent_dim, encoder_layers) if owns_encoder else None
        self._source: list[PearlExtractor] = []  # a list: not a submodule (its parameters are the critic's)
        self._cache: PosteriorCache | None = None
        self.noise: th.Tensor | None = None
        """``(B, L)`` standard-normal draws for ``z = μ + σ · noise`` outside training (``None``: μ)."""

    def read_posterior_of(self, other: PearlExtractor) -> None:
        """Read the posterior of ``other`` (detached) instead of an own encoder."""
        self._source = [other]

    def posterior(self, observations: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        """``(μ, σ²)`` of ``q(z | c)``; with the KL bottleneck's gradient in training mode.

        An extractor that reads another's posterior gets it detached."""
        if self._source:
            return self._source[0].detached_posterior(observations)
        assert self.encoder is not None, "the actor's extractor reads the critic's posterior"
        cache = self._cache
        if cache is not None and cache.matches(observations, list(self.encoder.parameters())):
            self._cache = None  # one reuse: its graph is backpropagated once
            return cache.mu, cache.var
        transitions = window_transitions(observations["obs"], observations["history"], self.history_len)
        mu, var = self.encoder(transitions)
        if self.training and th.is_grad_enabled():
            mu, var = KLGradient.apply(mu, var, self.kl_weight)
        return mu, var

    def detached_posterior(self, observations: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        """:meth:`posterior`, detached, for a reader (the actor's extractor).

        In training mode with gradients on (SAC's actor, before the critic's loss on the same
        batch) it is computed with its graph and kept for this extractor's next request
        (:class:`PosteriorCache`), which then does not compute it again."""
        if not (self.training and th.is_grad_enabled()):
            with th.no_grad():
                return self.posterior(observations)
        assert self.encoder is not None, "only the extractor that owns the encoder is read"
        mu, var = self.posterior(observations)
        versions = PosteriorCache.versions_of(
            [observations["obs"], observations["history"], *self.encoder.parameters()]
        )
        self._cache = PosteriorCache(observations["obs"], observations["history"], versions, mu, var)
        return mu.detach(), var.detach()

    def latent(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """A posterior sample in training mode; else ``μ + σ · noise`` (``μ`` without noise)."""
        mu, var = self.posterior(observations)
        if self.training:
            return mu + var.sqrt() * th.randn_like(mu)
        if self.noise is None:
            return mu
        return mu + var.sqrt() * self.noise.to(mu.device, mu.dtype)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """``[ObsEncoder(obs), z]``."""
        return th.cat([self.obs_encoder(observations["obs"]), self.latent(observations)], dim=1)


class PearlCritic(ContinuousCritic):
    """SB3's twin Q-critic whose features are detached when it scores actions that carry a
    gradient: SAC's actor loss, which in PEARL trains the actor only (the encoder learns from
    the critic's loss and the KL). The actor's gradients are the same; the backward pass
    through the critic's extractor, whose gradients SAC would discard, is not made. Where the
    installed SB3's forward is not the one written out here (:func:`critic_forward_matches`)
    SB3's own runs: the same values, the backward pass made."""

    def forward(self, obs: Any, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        """``(Q_1(o, a), Q_2(o, a))``."""
        if not actions.requires_grad or not critic_forward_matches():
            return super().forward(obs, actions)
        with th.no_grad():
            features = self.extract_features(obs, self.features_extractor)
        qvalue_input = th.cat([features, actions], dim=1)
        return tuple(q_net(qvalue_input) for q_net in self.q_networks)


class PearlPolicy(MultiInputPolicy):
    """SAC's policy whose actor reads the critic's posterior (PEARL trains the encoder with
    the critic's loss and the KL only). Needs :class:`PearlExtractor` as features extractor
    and separate actor and critic extractors (SB3's default for SAC)."""

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> Actor:
        """The actor, over an extractor without an encoder of its own."""
        if features_extractor is None:
            kwargs = {**self.features_extractor_kwargs, "owns_encoder": False}
            features_extractor = self.features_extractor_class(self.observation_space, **kwargs)
        return super().make_actor(features_extractor)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> ContinuousCritic:
        """A :class:`PearlCritic` (the critic and its target)."""
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return PearlCritic(**critic_kwargs).to(self.device)

    def _build(self, lr_schedule: Any) -> None:
        if self.share_features_extractor:
            raise ValueError(
                "PearlPolicy needs share_features_extractor=False (the actor reads the critic's)"
            )
        super()._build(lr_schedule)
        actor, critic = self.actor.features_extractor, self.critic.features_extractor
        assert isinstance(actor, PearlExtractor) and isinstance(critic, PearlExtractor)
        actor.read_posterior_of(critic)

    @property
    def context_extractor(self) -> PearlExtractor:
        """The actor's extractor: where a deployed agent sets :attr:`PearlExtractor.noise`."""
        extractor = self.actor.features_extractor
        assert isinstance(extractor, PearlExtractor)
        return extractor


class PearlSAC(SAC):
    """SB3's SAC, unmodified, that also knows the ``PearlPolicy`` alias (saved runs load with it)."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {**SAC.policy_aliases, "PearlPolicy": PearlPolicy}
