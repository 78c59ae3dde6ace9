"""The SB3 algorithms a run can use, and which action spaces each fits."""

from __future__ import annotations

from dataclasses import dataclass

from gymnasium import spaces
from stable_baselines3 import A2C, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from mtml_rl.errors import ConfigError, UnknownNameError


@dataclass(frozen=True)
class AlgoInfo:
    """An algorithm's class and the action spaces it supports."""

    name: str
    cls: type[BaseAlgorithm]
    discrete: bool
    continuous: bool

    @property
    def off_policy(self) -> bool:
        """Whether the algorithm learns from a replay buffer."""
        return self.name in ("sac", "td3")


ALGOS: dict[str, AlgoInfo] = {
    "ppo": AlgoInfo("ppo", PPO, discrete=True, continuous=True),
    "a2c": AlgoInfo("a2c", A2C, discrete=True, continuous=True),
    "sac": AlgoInfo("sac", SAC, discrete=False, continuous=True),
    "td3": AlgoInfo("td3", TD3, discrete=False, continuous=True),
}


def get_algo(name: str, action_space: spaces.Space | None = None) -> AlgoInfo:
    """Look up an algorithm; with ``action_space``, check that it fits."""
    if name not in ALGOS:
        raise UnknownNameError("algorithm", name, ALGOS)
    info = ALGOS[name]
    if action_space is None:
        return info
    discrete = isinstance(action_space, spaces.Discrete)
    if (discrete and not info.discrete) or (not discrete and not info.continuous):
        fits = [a.name for a in ALGOS.values() if (a.discrete if discrete else a.continuous)]
        kind = "discrete" if discrete else "continuous"
        raise ConfigError(
            f"algorithm {name!r} does not support {kind} action spaces ({action_space}); "
            f"use one of {', '.join(fits)}"
        )
    return info
