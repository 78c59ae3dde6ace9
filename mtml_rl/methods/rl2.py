"""``rl2``: RL² (Duan et al. 2016; Wang et al. 2016), sb3-contrib's ``RecurrentPPO`` over
trials of ``K`` episodes with the previous action, reward and done in its input
(:mod:`mtml_rl.envs.rl2`, :mod:`mtml_rl.agents.rl2`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from mtml_rl.errors import ConfigError
from mtml_rl.training.config import TrainConfig
from mtml_rl.training.method import Method, PolicySpec

if TYPE_CHECKING:  # a method object is cheap to import: torch and SB3 load on use
    from stable_baselines3.common.vec_env import VecEnv

    from mtml_rl.rollouts import Agent, EpisodeRecord
    from mtml_rl.specs.spec import TaskSpec
    from mtml_rl.tasks.task import Task
    from mtml_rl.training.algorithms import AlgoInfo
    from mtml_rl.training.run import Run


def recurrent_ppo() -> AlgoInfo:
    """sb3-contrib's ``RecurrentPPO``; a clear error if sb3-contrib is missing."""
    from mtml_rl.training.algorithms import AlgoInfo

    try:
        from sb3_contrib import RecurrentPPO
    except ImportError:
        raise ConfigError(
            "method rl2 needs sb3-contrib (RecurrentPPO); install it with `pip install mtml-rl[contrib]`"
        ) from None
    return AlgoInfo("recurrentppo", RecurrentPPO, discrete=True, continuous=True)


@dataclass(frozen=True)
class RL2Method(Method):
    """A recurrent policy whose memory carries over the episodes of a trial."""

    def fields_read(self, config: TrainConfig) -> frozenset[str]:
        """None: the LSTM's memory is its latent, the trial its history."""
        return frozenset()

    def algorithm(self, config: TrainConfig, action_space: spaces.Space | None = None) -> AlgoInfo:
        """``ppo`` as sb3-contrib's ``RecurrentPPO``; no other algorithm."""
        if config.algo != "ppo":
            raise ConfigError(
                f"method {self.name} trains with recurrent PPO (sb3-contrib RecurrentPPO), not "
                f"{config.algo!r}; pass --algo ppo"
            )
        return recurrent_ppo()

    def wrap_env(self, env: VecEnv, config: TrainConfig) -> VecEnv:
        """Each trial as one SB3 episode, with the previous transition in the observation."""
        from mtml_rl.envs.rl2 import RL2VecEnv

        return RL2VecEnv(env)

    def observation_space(
        self, config: TrainConfig, env_space: spaces.Space, action_space: spaces.Space
    ) -> spaces.Space:
        """``[o, previous action, previous reward, episode-ended flag]`` (:class:`RL2VecEnv`)."""
        from mtml_rl.envs.rl2 import rl2_observation_space

        return rl2_observation_space(env_space, action_space)

    def policy(
        self, config: TrainConfig, observation_space: spaces.Space, policy_kwargs: dict[str, Any]
    ) -> PolicySpec:
        """sb3-contrib's LSTM policy over the flat RL² input, with one LSTM call per batch of
        sequences in training (:mod:`mtml_rl.policies.recurrent`)."""
        from mtml_rl.policies.recurrent import MultiInputSequenceLstmPolicy, SequenceLstmPolicy

        is_dict = isinstance(observation_space, spaces.Dict)
        policy = MultiInputSequenceLstmPolicy if is_dict else SequenceLstmPolicy
        return PolicySpec(policy, dict(policy_kwargs))

    def agent(self, run: Run) -> Agent:
        """The LSTM policy with its state carried over each trial."""
        from mtml_rl.agents.rl2 import RL2Agent

        return RL2Agent(run)

    def evaluate(
        self, run: Run, tasks: Sequence[Task], *, episodes: int, seed: int, deterministic: bool
    ) -> list[EpisodeRecord]:
        """Whole trials: ``ceil(episodes / K)`` of every task."""
        from mtml_rl.agents.rl2 import evaluate_rl2

        return evaluate_rl2(run, tasks, episodes=episodes, seed=seed, deterministic=deterministic)

    def estimated_cost(self, config: TrainConfig, spec: TaskSpec, steps: int, test_tasks: int) -> int:
        """Recurrent steps cost about twice a feed-forward step."""
        return 2 * super().estimated_cost(config, spec, steps, test_tasks)

    def algorithm_label(self, config: TrainConfig) -> str:
        """``recurrent ppo``."""
        return "recurrent ppo"

    def budget_note(self, config: TrainConfig) -> str:
        """The trial length."""
        return f"(trials of {config.trial_episodes} episodes)"


RL2 = RL2Method(
    name="rl2",
    summary="recurrent PPO over trials of K episodes with the previous action, reward and done",
    recurrent=True,
    default_trial_episodes=2,
    report_order=20,
)
