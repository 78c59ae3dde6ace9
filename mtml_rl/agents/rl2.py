"""The deployed ``rl2`` policy: an LSTM state per slot over trials of ``K`` episodes.

:class:`RL2Agent` builds the recurrent policy's input ``[o, previous action, previous
reward, episode-ended flag]`` from its :meth:`~RL2Agent.observe` calls exactly as
:class:`~mtml_rl.envs.rl2.RL2VecEnv` did in training; :func:`evaluate_rl2` rolls a run out
in whole trials (what :meth:`~mtml_rl.training.run.Run.evaluate` does for ``rl2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mtml_rl.envs.rl2 import RL2Inputs
from mtml_rl.errors import ConfigError
from mtml_rl.rollouts import EpisodeRecord, ObsRequirements, rollout_agent
from mtml_rl.tasks.task import Task
from mtml_rl.training.run import Run

LstmState = tuple[np.ndarray, np.ndarray]
"""The LSTM's ``(hidden, cell)`` states, each ``(n_layers, num_envs, hidden_size)``."""


class RL2Agent:
    """The deployed ``rl2`` policy: an LSTM state per slot, reset only at trial starts.

    It builds the policy's input from :meth:`observe` exactly as
    :class:`~mtml_rl.envs.rl2.RL2VecEnv` did in training. Run it with ``trial_episodes``
    equal to the run's (:attr:`trial_episodes`) to evaluate it as trained.

    :param run: a run trained with a recurrent policy over RL² inputs (the ``rl2`` method)
    """

    privileged = False

    def __init__(self, run: Run) -> None:
        shape = getattr(run.model.policy, "lstm_hidden_state_shape", None)
        if shape is None:
            raise ConfigError(
                f"RL2Agent needs an rl2 run (a recurrent policy over RL² inputs); {run.path} was "
                f"trained with method {run.config.method!r}: deploy it with load_agent"
            )
        self.run = run
        self.name = run.method.name
        self.requirements = ObsRequirements("hidden", 0)
        self.trial_episodes = run.trial_episodes
        self._state_shape: tuple[int, int, int] = tuple(shape)
        self.inputs: RL2Inputs | None = None
        self._state: LstmState | None = None

    @property
    def num_envs(self) -> int:
        """Slots since the last :meth:`reset` (0 before it)."""
        return 0 if self.inputs is None else self.inputs.num_envs

    @property
    def lstm_state(self) -> LstmState:
        """A copy of the actor LSTM's ``(hidden, cell)`` state of every slot."""
        if self._state is None:
            raise ConfigError("call reset(num_envs) before reading the LSTM state")
        return self._state[0].copy(), self._state[1].copy()

    def initial_state(self, num_envs: int) -> LstmState:
        """The LSTM state at a trial start: zeros."""
        layers, _, hidden = self._state_shape
        zeros = np.zeros((layers, num_envs, hidden), dtype=np.float32)
        return zeros, zeros.copy()

    def reset(self, num_envs: int) -> None:
        """New trials in every slot: no previous transition, initial LSTM state."""
        self.inputs = RL2Inputs(self.run.model.action_space, num_envs)
        self._state = self.initial_state(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions from ``[obs, previous transition]``, advancing every slot's LSTM state."""
        if self.inputs is None:
            self.reset(len(obs))
        assert self.inputs is not None
        if len(obs) != self.inputs.num_envs:
            raise ConfigError(f"act got {len(obs)} observations after reset({self.inputs.num_envs})")
        x = self.inputs.augment(obs)
        if self.run.normalizer is not None:
            x = self.run.normalizer.normalize_obs(x)  # type: ignore[assignment]
        starts = np.zeros(self.inputs.num_envs, dtype=bool)
        actions, state = self.run.model.predict(
            x,
            state=self._state,
            episode_start=starts,
            deterministic=deterministic,
        )
        assert state is not None, "a recurrent policy returns its LSTM state"
        self._state = (np.asarray(state[0]), np.asarray(state[1]))
        return np.asarray(actions)

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        """Remember the transition; slots starting a new trial forget it and their LSTM state."""
        if self.inputs is None or self._state is None:
            raise ConfigError("call reset(num_envs) and act before observe")
        self.inputs.record(actions, rewards, dones)
        starts = np.asarray(trial_starts, dtype=bool)
        self.inputs.reset(starts)
        self._state[0][:, starts] = 0.0
        self._state[1][:, starts] = 0.0


def evaluate_rl2(
    run: Run, tasks: Sequence[Task], *, episodes: int, seed: int, deterministic: bool = True
) -> list[EpisodeRecord]:
    """Roll an ``rl2`` run out in whole trials: ``ceil(episodes / K)`` trials of every task.

    Every episode of those trials is returned (so ``K`` or more per task), numbered
    ``trial * K + episode`` and sorted by task, as :meth:`~mtml_rl.training.run.Run.evaluate`.
    """
    agent = RL2Agent(run)
    k = agent.trial_episodes
    played = rollout_agent(
        agent,
        run.spec,
        tasks,
        trials=-(-episodes // k),
        trial_episodes=k,
        seed=seed,
        deterministic=deterministic,
    )
    records = [EpisodeRecord(e.task, e.trial * k + e.episode, e.ret, e.length, e.success) for e in played]
    order = list(tasks)
    return sorted(records, key=lambda r: (order.index(r.task), r.episode))
