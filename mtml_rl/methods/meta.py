"""Meta-policy methods: one SB3 policy whose features are ``[ObsEncoder(o), z]``, the methods
differing in what feeds the task latent ``z`` (:class:`~mtml_rl.policies.extractor.MetaExtractor`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method, MethodEnv, PolicySpec, policy_name

if TYPE_CHECKING:  # a method object is cheap to import: torch and SB3 load on use
    from mtml_rl.rollouts import Agent
    from mtml_rl.training.run import Run


@dataclass(frozen=True)
class MetaMethod(Method):
    """A meta-policy method, deployed as trained (unless a subclass says otherwise).

    :param latent_input: the observation entry that feeds ``z``: ``"context"``, ``"history"``
        or ``None`` (no ``z``: context-blind)
    :param context: the context mode of the training env (``hidden`` or ``privileged``)
    :param uses_history: the training env shows the last ``history_len`` transitions
    :param extractor_kwargs: keyword arguments of the extractor (e.g. ``obs_layers``): over
        the shipped hyperparameters', under the run's own ``features_extractor_kwargs``
    :param policy_kwargs: SB3 policy keyword arguments (e.g. ``net_arch``): over the shipped
        hyperparameters', under the run's own
    """

    latent_input: str | None = None
    context: str = "hidden"
    uses_history: bool = False
    extractor_kwargs: Mapping[str, Any] = field(default_factory=dict)
    policy_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def fields_read(self, config: TrainConfig) -> frozenset[str]:
        """``latent_dim`` where ``z`` has an input, the history window's and encoder's fields
        where the method uses the window, and its :attr:`later_phase_fields` and
        :attr:`deployment_fields`."""
        latent = ("latent_dim",) if self.latent_input else ()
        history = ("history_len", "history_arch", "history_hidden") if self.uses_history else ()
        return frozenset((*latent, *history, *self.later_phase_fields, *self.deployment_fields))

    def layout(self, config: TrainConfig) -> MethodEnv:
        """The context mode, and the history window if the method uses one."""
        trial = config.trial_episodes or self.default_trial_episodes
        return MethodEnv(self.context, config.history_len if self.uses_history else 0, trial)

    def policy(
        self, config: TrainConfig, observation_space: spaces.Space, policy_kwargs: dict[str, Any]
    ) -> PolicySpec:
        """SB3's policy with :class:`MetaExtractor` as its features extractor.

        The method's ``policy_kwargs`` and ``extractor_kwargs`` override the shipped
        hyperparameters'; the run's own ``hyperparams`` override the method's.
        """
        from mtml_rl.policies.extractor import MetaExtractor  # torch: only once a policy is built

        given = dict(policy_kwargs)
        own = dict(config.hyperparams.get("policy_kwargs") or {})
        extractor = {
            "latent_input": self.latent_input,
            "latent_dim": config.latent_dim,
            "history_len": self.layout(config).history_len,
            "history_arch": config.history_arch,
            "history_hidden": config.history_hidden,
            **dict(given.pop("features_extractor_kwargs", None) or {}),
            **self.extractor_kwargs,
            **dict(own.pop("features_extractor_kwargs", None) or {}),
        }
        kwargs = {
            **given,
            **self.policy_kwargs,
            **own,
            "features_extractor_class": MetaExtractor,
            "features_extractor_kwargs": extractor,
        }
        return PolicySpec(policy_name(observation_space), kwargs)

    def agent(self, run: Run) -> Agent:
        """The policy, deployed as trained."""
        from mtml_rl.agents.policy import PolicyAgent

        return PolicyAgent(run)
