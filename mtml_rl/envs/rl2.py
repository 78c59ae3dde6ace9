"""RL² inputs and the training-side wrapper (Duan et al. 2016; Wang et al. 2016).

A trial is ``K`` consecutive episodes of one task. The ``rl2`` method's policy is
sb3-contrib's ``RecurrentPPO`` (``MlpLstmPolicy``); its input at every step is

``[o_t, a_{t-1}, r_{t-1}, d_{t-1}]``

the observation, the previous action (one-hot for discrete action spaces, clipped to the
action bounds otherwise), the previous reward and a flag that is 1 when the previous step
ended an episode (so ``o_t`` is the first observation of the trial's next episode). At the
start of a trial there is no previous transition: those entries are zero, and the LSTM
state is reset. Within a trial the LSTM state carries over episode boundaries, so the
policy can use what it learned about the task in earlier episodes.

Two pieces implement it, sharing :class:`RL2Inputs`:

- :class:`RL2VecEnv` (here), the training-side SB3 wrapper that merges each trial's episodes
  into one SB3 episode (only the trial's last episode end is reported as done, so that
  ``RecurrentPPO`` resets its LSTM state only at trial starts);
- :class:`~mtml_rl.agents.rl2.RL2Agent`, the agent that deploys the policy, building the
  same input from its ``observe`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from mtml_rl.envs.observation import action_encoding_dim
from mtml_rl.errors import ConfigError


def rl2_observation_space(observation_space: spaces.Space, action_space: spaces.Space) -> spaces.Box:
    """The space of ``[o, previous action, previous reward, episode-ended flag]``.

    :param observation_space: the env's flat ``Box`` observation space
    :param action_space: the env's ``Discrete`` or ``Box`` action space
    """
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
        raise ConfigError(
            f"rl2 needs flat Box observations (context hidden, no history window), got {observation_space}"
        )
    if isinstance(action_space, spaces.Discrete):
        n = int(action_space.n)
        act_low, act_high = np.zeros(n), np.ones(n)
    elif isinstance(action_space, spaces.Box):
        act_low, act_high = action_space.low.ravel(), action_space.high.ravel()
    else:
        raise ConfigError(f"rl2 supports Discrete and Box action spaces, got {action_space}")
    low = np.concatenate([observation_space.low, act_low, [-np.inf, 0.0]])
    high = np.concatenate([observation_space.high, act_high, [np.inf, 1.0]])
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class RL2Inputs:
    """The previous transition ``(a, r, d)`` of every slot, appended to its observations.

    Used by both :class:`RL2VecEnv` (training) and :class:`RL2Agent` (deployment), so the
    policy sees the same input in both.

    :param action_space: the env's ``Discrete`` or ``Box`` action space
    :param num_envs: number of slots
    """

    def __init__(self, action_space: spaces.Space, num_envs: int) -> None:
        self.action_space = action_space
        self.num_envs = num_envs
        self.action_dim = action_encoding_dim(action_space)
        self.features = np.zeros((num_envs, self.action_dim + 2), dtype=np.float32)

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Forget the previous transition of every slot, or of the slots where ``mask`` holds."""
        if mask is None:
            self.features[:] = 0.0
        else:
            self.features[np.asarray(mask, dtype=bool)] = 0.0

    def record(self, actions: Any, rewards: Any, dones: Any) -> None:
        """Remember the transition every slot just made.

        :param actions: the actions taken, ``(num_envs,)`` or ``(num_envs, *shape)``
        :param rewards: the rewards received
        :param dones: which slots' episodes ended with this step
        """
        a = self.action_dim
        self.features[:, :a] = self.encode_actions(actions)
        self.features[:, a] = np.asarray(rewards, dtype=np.float32).reshape(self.num_envs)
        self.features[:, a + 1] = np.asarray(dones, dtype=np.float32).reshape(self.num_envs)

    def encode_actions(self, actions: Any) -> np.ndarray:
        """``(num_envs, action_dim)``: one-hot for discrete actions, clipped to the bounds otherwise."""
        arr = np.asarray(actions)
        if isinstance(self.action_space, spaces.Discrete):
            index = arr.reshape(self.num_envs).astype(np.int64) - int(self.action_space.start)
            return np.eye(self.action_dim, dtype=np.float32)[index]
        assert isinstance(self.action_space, spaces.Box)
        flat = arr.reshape(self.num_envs, -1).astype(np.float32)
        return np.clip(flat, self.action_space.low.ravel(), self.action_space.high.ravel())

    def augment(self, obs: Any, slots: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """``[obs, previous action, previous reward, flag]`` for every slot, or for ``slots``
        (then ``obs`` holds one row per listed slot)."""
        rows = self.features if slots is None else self.features[np.asarray(slots, dtype=np.int64)]
        flat = np.asarray(obs, dtype=np.float32).reshape(rows.shape[0], -1)
        return np.concatenate([flat, rows], axis=1)


class RL2VecEnv(VecEnvWrapper):
    """Presents each trial of ``K`` episodes as one SB3 episode with RL² inputs.

    Wrap an SB3 env over a :class:`~mtml_rl.envs.vector.MultiTaskVectorEnv` built with
    ``trial_episodes=K`` (possibly under a ``VecMonitor``, which then records every real
    episode). An episode that ends inside a trial is not reported as done: its
    ``terminal_observation`` and ``TimeLimit.truncated`` move to
    ``episode_terminal_observation`` and ``episode_truncated`` (the ``episode``,
    ``episode_task`` and ``is_success`` entries stay), and the next observation carries
    the episode-ended flag. The trial's last episode is reported as done, with the
    augmented ``terminal_observation`` and its own ``TimeLimit.truncated``.

    :param venv: the env to wrap
    """

    def __init__(self, venv: VecEnv) -> None:
        try:
            self._slots = venv.get_attr("slots", indices=[0])[0]
        except AttributeError:
            raise ConfigError(
                "RL2VecEnv wraps an SB3 env over a MultiTaskVectorEnv (it has no slots)"
            ) from None
        self.inputs = RL2Inputs(venv.action_space, venv.num_envs)
        space = rl2_observation_space(venv.observation_space, venv.action_space)
        super().__init__(venv, observation_space=space)
        self._actions: np.ndarray | None = None

    @property
    def trial_episodes(self) -> int:
        """Episodes per trial of the wrapped env."""
        return int(self._slots.trial_episodes)

    def reset(self) -> VecEnvObs:
        """Start new trials in every slot."""
        obs = self.venv.reset()
        self.inputs.reset()
        return self.inputs.augment(obs)

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions (for the next input) and pass them on."""
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step; only trial ends are dones."""
        assert self._actions is not None, "step_async must be called before step_wait"
        obs, rewards, dones, infos = self.venv.step_wait()
        trial_ends = np.asarray(dones, dtype=bool) & (self._slots.episode_in_trial == 0)
        self.inputs.record(self._actions, rewards, dones)
        for i in np.flatnonzero(dones).tolist():
            if trial_ends[i]:
                terminal = infos[i]["terminal_observation"]
                infos[i]["terminal_observation"] = self.inputs.augment(terminal, [i])[0]
            else:
                infos[i]["episode_terminal_observation"] = infos[i].pop("terminal_observation", None)
                infos[i]["episode_truncated"] = infos[i].pop("TimeLimit.truncated", False)
        self.inputs.reset(trial_ends)
        return self.inputs.augment(obs), rewards, trial_ends, infos
