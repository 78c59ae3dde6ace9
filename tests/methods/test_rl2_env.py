"""The RL² training wrapper: one SB3 episode per trial, the previous transition in the input.

Each test steps the wrapped stack (vector env -> SB3 adapter -> monitor -> RL2VecEnv)
next to a twin without the wrapper, built and seeded identically, with the same seeded
random actions: the twin is the ground truth of what really happened.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from baseline_helpers import CARTPOLE, PENDULUM
from gymnasium import spaces

from mtml_rl.envs.rl2 import RL2Inputs, RL2VecEnv, rl2_observation_space
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import ConfigError
from mtml_rl.training.monitor import TaskEpisodeMonitor

NUM_ENVS = 4
SEED = 5
STEPS = 300


def sb3_env(spec: str, trial_episodes: int, time_limit: int) -> SB3VecEnv:
    """The SB3 env over a train-split vector env whose slots keep a task for a trial."""
    venv = MultiTaskVectorEnv(
        spec, num_envs=NUM_ENVS, split="train", trial_episodes=trial_episodes, max_episode_steps=time_limit
    )
    env = SB3VecEnv(venv)
    env.seed(SEED)
    return env


@dataclass
class Trace:
    """What the wrapped stack reported, next to the twin's truth."""

    episode_tasks: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    trial_ends: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    terminated_trials: int = 0
    truncated_trials: int = 0


def expected_features(inputs: RL2Inputs, actions: np.ndarray, rewards: np.ndarray, flag: float) -> np.ndarray:
    """``[previous action, previous reward, flag]`` of one slot."""
    return np.concatenate([inputs.encode_actions(actions)[0], [rewards, flag]]).astype(np.float32)


def random_actions(rng: np.random.Generator, space: spaces.Space) -> np.ndarray:
    """Seeded random actions of every slot; continuous ones partly out of bounds."""
    if isinstance(space, spaces.Box):
        return rng.uniform(-3.0, 3.0, size=(NUM_ENVS, *space.shape)).astype(np.float32)
    assert isinstance(space, spaces.Discrete)
    return rng.integers(0, int(space.n), size=NUM_ENVS)


def check_done_slot(
    info: dict[str, Any], truth: dict[str, Any], wrapped_done: bool, extra: np.ndarray
) -> None:
    """A trial end carries the augmented terminal observation; an inner episode end does not."""
    obs_dim = truth["terminal_observation"].shape[0]
    if wrapped_done:
        terminal = info["terminal_observation"]
        np.testing.assert_array_equal(terminal[:obs_dim], truth["terminal_observation"])
        np.testing.assert_array_equal(terminal[obs_dim:], extra)
        assert info["TimeLimit.truncated"] == truth["TimeLimit.truncated"]
    else:
        assert "terminal_observation" not in info and "TimeLimit.truncated" not in info
        np.testing.assert_array_equal(info["episode_terminal_observation"], truth["terminal_observation"])
        assert info["episode_truncated"] == truth["TimeLimit.truncated"]
    assert info["episode_task"] == truth["episode_task"]


def run_twins(spec: str, trial_episodes: int, time_limit: int) -> Trace:
    """Step the wrapped stack and its twin together, checking every step; returns the trace."""
    wrapped = RL2VecEnv(TaskEpisodeMonitor(sb3_env(spec, trial_episodes, time_limit)))
    twin = sb3_env(spec, trial_episodes, time_limit)
    inputs = RL2Inputs(twin.action_space, 1)
    obs, truth_obs = wrapped.reset(), twin.reset()
    obs_dim = truth_obs.shape[1]
    np.testing.assert_array_equal(obs[:, :obs_dim], truth_obs)
    assert not obs[:, obs_dim:].any(), "a trial starts with no previous transition"
    rng = np.random.default_rng(SEED)
    episodes = np.zeros(NUM_ENVS, dtype=np.int64)
    trace = Trace()
    for _ in range(STEPS):
        actions = random_actions(rng, twin.action_space)
        obs, rewards, dones, infos = wrapped.step(actions)
        truth_obs, truth_rewards, truth_dones, truth_infos = twin.step(actions)
        np.testing.assert_array_equal(obs[:, :obs_dim], truth_obs)
        np.testing.assert_array_equal(rewards, truth_rewards)
        for i in range(NUM_ENVS):
            trial_end = bool(truth_dones[i]) and (episodes[i] + 1) % trial_episodes == 0
            assert dones[i] == trial_end, "only the last episode of a trial is reported done"
            extra = expected_features(inputs, actions[i : i + 1], truth_rewards[i], 1.0)
            if truth_dones[i]:
                check_done_slot(infos[i], truth_infos[i], trial_end, extra)
                trace.episode_tasks[i].append(truth_infos[i]["episode_task"])
                episodes[i] += 1
            if trial_end:
                trace.trial_ends[i].append(int(episodes[i]))
                trace.truncated_trials += int(truth_infos[i]["TimeLimit.truncated"])
                trace.terminated_trials += int(not truth_infos[i]["TimeLimit.truncated"])
                assert not obs[i, obs_dim:].any(), "a new trial starts with no previous transition"
            else:
                flag = 1.0 if truth_dones[i] else 0.0
                np.testing.assert_array_equal(obs[i, obs_dim:], [*extra[:-1].tolist(), flag])
    return trace


@pytest.mark.parametrize(
    ("spec", "trial_episodes", "time_limit"),
    [(CARTPOLE, 3, 18), (PENDULUM, 2, 10), (CARTPOLE, 1, 18)],
    ids=["cartpole-k3", "pendulum-k2", "cartpole-k1"],
)
def test_one_done_per_trial_with_true_terminal_observation(
    spec: str, trial_episodes: int, time_limit: int
) -> None:
    trace = run_twins(spec, trial_episodes, time_limit)
    assert sum(len(ends) for ends in trace.trial_ends.values()) >= 2 * NUM_ENVS
    if spec == CARTPOLE:  # random play both drops the pole and outlasts the short time limit
        assert trace.terminated_trials > 0 and trace.truncated_trials > 0


@pytest.mark.parametrize("trial_episodes", [2, 3])
def test_trials_keep_their_task(trial_episodes: int) -> None:
    trace = run_twins(CARTPOLE, trial_episodes, 18)
    trial_tasks = []
    for i, tasks in trace.episode_tasks.items():
        complete = len(tasks) - len(tasks) % trial_episodes
        for start in range(0, complete, trial_episodes):
            trial = tasks[start : start + trial_episodes]
            assert len(set(trial)) == 1, f"slot {i}: a trial ran several tasks: {trial}"
            trial_tasks.append(trial[0])
        assert trace.trial_ends[i] == list(range(trial_episodes, complete + 1, trial_episodes))
    assert len(set(trial_tasks)) > 1, "trials draw new tasks"


def test_observation_space_layout() -> None:
    box = spaces.Box(-2.0, 2.0, shape=(3,), dtype=np.float32)
    discrete = rl2_observation_space(box, spaces.Discrete(2))
    assert discrete.shape == (3 + 2 + 2,)
    np.testing.assert_array_equal(discrete.low[3:], [0, 0, -np.inf, 0])
    np.testing.assert_array_equal(discrete.high[3:], [1, 1, np.inf, 1])
    continuous = rl2_observation_space(box, spaces.Box(-1.5, 1.5, shape=(1,), dtype=np.float32))
    np.testing.assert_array_equal(continuous.low[3:], [-1.5, -np.inf, 0])
    with pytest.raises(ConfigError, match="flat Box"):
        rl2_observation_space(spaces.Dict({"obs": box}), spaces.Discrete(2))


def test_wrapper_needs_a_multitask_env() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    with pytest.raises(ConfigError, match="MultiTaskVectorEnv"):
        RL2VecEnv(make_vec_env("CartPole-v1", n_envs=1))
