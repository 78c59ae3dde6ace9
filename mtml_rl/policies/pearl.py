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
- **Which z.** In training mode ``z`` is a reparameterized posterior sample; otherwise it is
  ``μ + σ · noise`` with :attr:`PearlExtractor.noise` (set by the deployed agent: a sample
  held over an exploration episode), the posterior mean when no noise is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor, MultiInputPolicy
from torch import nn
from torch.nn import functional as F

from mtml_rl.policies.history import mlp

MIN_VARIANCE = 1e-6
"""Floor of every Gaussian factor's variance (keeps the product finite)."""


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


class PearlExtractor(BaseFeaturesExtractor):
    """``features = [ObsEncoder(obs), z]``, ``z`` from the posterior over the history window.

    :param observation_space: a Dict with ``obs`` and ``history``
    :param latent_dim: size of ``z``
    :param history_len: ``H`` (to unflatten the window)
    :param obs_layers: hidden sizes of the observation encoder
    :param encoder_layers: hidden sizes of the per-transition encoder
    :param kl_weight: ``β``, the weight of the KL bottleneck in the critic's loss
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
        kl_weight: float = 0.1,
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
        self.noise: th.Tensor | None = None
        """``(B, L)`` standard-normal draws for ``z = μ + σ · noise`` outside training (``None``: μ)."""

    def read_posterior_of(self, other: PearlExtractor) -> None:
        """Read the posterior of ``other`` (detached) instead of an own encoder."""
        self._source = [other]

    def posterior(self, observations: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        """``(μ, σ²)`` of ``q(z | c)``; with the KL bottleneck's gradient in training mode."""
        if self._source:
            with th.no_grad():
                return self._source[0].posterior(observations)
        assert self.encoder is not None, "the actor's extractor reads the critic's posterior"
        transitions = window_transitions(observations["obs"], observations["history"], self.history_len)
        mu, var = self.encoder(transitions)
        if self.training and th.is_grad_enabled():
            mu, var = KLGradient.apply(mu, var, self.kl_weight)
        return mu, var

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
