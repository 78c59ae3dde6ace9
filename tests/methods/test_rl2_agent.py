"""rl2 end to end: trains through ``train()``, loads, resumes and acts over trials.

The deployed :class:`RL2Agent` must see exactly the input the policy trained on, and its
LSTM state must carry over episode boundaries inside a trial and restart at trial starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from baseline_helpers import tiny_config
from previous_rollout import previous_rollout_agent
from sb3_contrib import RecurrentPPO

from mtml_rl.agents.rl2 import LstmState, RL2Agent
from mtml_rl.envs.rl2 import RL2VecEnv
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.envs.vector import MultiTaskVectorEnv
from mtml_rl.errors import ConfigError
from mtml_rl.rollouts import play_plan, rollout_agent, sequential_plan
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, resume, train

SEED = 3


@dataclass
class RecordingAgent:
    """Delegates to an :class:`RL2Agent`, recording its LSTM state around every call."""

    inner: RL2Agent
    before_act: list[LstmState] = field(default_factory=list)
    after_act: list[LstmState] = field(default_factory=list)
    dones: list[np.ndarray] = field(default_factory=list)
    trial_starts: list[np.ndarray] = field(default_factory=list)

    @property
    def requirements(self) -> Any:
        return self.inner.requirements

    def reset(self, num_envs: int) -> None:
        self.inner.reset(num_envs)

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        self.before_act.append(self.inner.lstm_state)
        actions = self.inner.act(obs, deterministic)
        self.after_act.append(self.inner.lstm_state)
        return actions

    def observe(
        self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, trial_starts: np.ndarray
    ) -> None:
        self.inner.observe(actions, rewards, dones, trial_starts)
        self.dones.append(dones.copy())
        self.trial_starts.append(trial_starts.copy())


def test_rl2_trains_loads_and_evaluates(rl2_run: Run) -> None:
    assert isinstance(rl2_run.model, RecurrentPPO)
    assert rl2_run.config.trial_episodes == 2, "rl2's default trial length"
    assert rl2_run.model.num_timesteps >= 256
    assert (rl2_run.path / "best" / "model.zip").is_file(), "the periodic evaluation ran"
    loaded = Run.load(rl2_run.path)
    assert isinstance(loaded.model, RecurrentPPO)
    tasks = build_splits(loaded.spec)["test-interpolation"].tasks[:3]
    records = loaded.evaluate(tasks=tasks, episodes=1)
    assert [(r.task, r.episode) for r in records] == [(t, e) for t in tasks for e in (0, 1)]
    assert all(np.isfinite(r.ret) and r.length > 0 for r in records)
    with pytest.raises(ConfigError, match="RL2Agent"):
        loaded.act(np.zeros((1, 4), dtype=np.float32))


def test_rl2_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "run", "rl2", timesteps=128, save_freq=128)
    train(config, progress=False)
    run = resume(tmp_path / "run", timesteps=256, progress=False)
    assert isinstance(run.model, RecurrentPPO)
    assert run.model.num_timesteps >= 256
    assert isinstance(run.model.get_env().venv, RL2VecEnv)  # type: ignore[union-attr]


def test_lstm_state_resets_only_at_trial_starts(rl2_run: Run) -> None:
    agent = RecordingAgent(RL2Agent(rl2_run))
    tasks = build_splits(rl2_run.spec)["test-interpolation"].tasks[:3]
    # one slot per task, so that a slot's second trial follows its first
    played = play_plan(agent, rl2_run.spec, tasks, sequential_plan(len(tasks), 2, 2, SEED))
    assert {(e.task, e.trial, e.episode) for e in played} == {
        (t, trial, ep) for t in tasks for trial in (0, 1) for ep in (0, 1)
    }
    zeros = agent.inner.initial_state(len(tasks))
    for part in (0, 1):
        np.testing.assert_array_equal(agent.before_act[0][part], zeros[part])
    inner_boundaries = 0
    for t in range(1, len(agent.before_act)):
        starts = agent.trial_starts[t - 1]
        carried = agent.dones[t - 1] & ~starts
        inner_boundaries += int(carried.sum())
        for part in (0, 1):
            before, previous = agent.before_act[t][part], agent.after_act[t - 1][part]
            np.testing.assert_array_equal(before[:, starts], 0.0)
            np.testing.assert_array_equal(before[:, ~starts], previous[:, ~starts])
            assert np.abs(before[:, carried]).sum(axis=(0, 2)).min(initial=1.0) > 0.0
    assert inner_boundaries >= len(tasks), "every slot crossed an episode boundary inside a trial"
    assert sum(int(s.sum()) for s in agent.trial_starts) >= len(tasks)


def test_agent_builds_the_training_input(rl2_run: Run) -> None:
    """Stepped with the same actions, the agent's input equals the training wrapper's."""
    tasks = list(build_splits(rl2_run.spec)["train"].tasks[:3])
    raw = MultiTaskVectorEnv(rl2_run.spec, num_envs=3, tasks=tasks, trial_episodes=2)
    sb3 = SB3VecEnv(MultiTaskVectorEnv(rl2_run.spec, num_envs=3, tasks=tasks, trial_episodes=2))
    sb3.seed(SEED)
    wrapped = RL2VecEnv(sb3)
    agent = RL2Agent(rl2_run)
    agent.reset(3)
    obs, _ = raw.reset(seed=SEED)
    expected = wrapped.reset()
    trial_ends = 0
    for _ in range(150):
        assert agent.inputs is not None
        np.testing.assert_array_equal(agent.inputs.augment(obs), expected)
        actions = agent.act(obs)
        obs, rewards, terminated, truncated, _ = raw.step(actions)
        dones = terminated | truncated
        starts = dones & (raw.slots.episode_in_trial == 0)
        agent.observe(actions, rewards, dones, starts)
        expected, _, wrapped_dones, _ = wrapped.step(actions)
        np.testing.assert_array_equal(wrapped_dones, starts)
        trial_ends += int(starts.sum())
    assert trial_ends > 0


def test_agent_is_deterministic_and_needs_an_rl2_run(rl2_run: Run, finetune_run: Run) -> None:
    tasks = build_splits(rl2_run.spec)["test-extrapolation"].tasks[:2]
    first = rollout_agent(RL2Agent(rl2_run), rl2_run.spec, tasks, trials=1, trial_episodes=2, seed=SEED)
    again = rollout_agent(RL2Agent(rl2_run), rl2_run.spec, tasks, trials=1, trial_episodes=2, seed=SEED)
    assert [e.rewards for e in first] == [e.rewards for e in again]
    with pytest.raises(ConfigError, match="rl2 run"):
        RL2Agent(finetune_run)


def test_parallel_trials_play_what_one_slot_per_task_plays(rl2_run: Run) -> None:
    """Evaluation's layout (a slot per trial) against the rollout it replaced (a slot per
    task, its trials one after another, the LSTM state reset between them)."""
    tasks = list(build_splits(rl2_run.spec)["test-interpolation"].tasks)
    kwargs = {"trials": 3, "trial_episodes": 2, "seed": SEED}
    before = previous_rollout_agent(RL2Agent(rl2_run), rl2_run.spec, tasks, **kwargs)  # type: ignore[arg-type]
    batched = rollout_agent(RL2Agent(rl2_run), rl2_run.spec, tasks, **kwargs)  # type: ignore[arg-type]
    assert len(batched) == len(tasks) * 6
    assert batched == before
