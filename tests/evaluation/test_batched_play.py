"""Evaluation plays a task's trials in parallel slots; the episodes are exactly those of the
rollout it used before (one slot per task playing its episodes one after another, kept in
``tests/previous_rollout.py``): the same returns, lengths, per-step rewards, success flags and
latent errors, on the same seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_helpers import tiny_config
from previous_rollout import previous_rollout_agent

from mtml_rl.agents.loading import load_agent
from mtml_rl.evaluation.collect import play
from mtml_rl.rollouts import plan_slots, rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train

EPISODES = 4
SEED = 3


def _both_layouts(run: Run, split: str) -> tuple[list, list]:
    tasks = list(build_splits(run.spec)[split].tasks)
    assert plan_slots(run.spec, len(tasks), trials=EPISODES, trial_episodes=1, seed=SEED).parallel
    kwargs = {"episodes": EPISODES, "trial_episodes": 1, "seed": SEED}
    one_slot_per_task = play(load_agent(run), run.spec, tasks, parallel=False, **kwargs)  # type: ignore[arg-type]
    one_slot_per_trial = play(load_agent(run), run.spec, tasks, **kwargs)  # type: ignore[arg-type]
    return one_slot_per_task, one_slot_per_trial


@pytest.mark.parametrize("method", ["dr", "oracle", "adapt"])
@pytest.mark.fast_subset({"method": "adapt"})  # adapt's history window; dr and oracle: make test
def test_rollouts_play_the_episodes_of_the_previous_rollout(runs: dict[str, Path], method: str) -> None:
    """``adapt`` acts on a history window, which must carry over exactly as before."""
    run = Run.load(runs[method])
    tasks = list(build_splits(run.spec)["test-extrapolation"].tasks)
    before = previous_rollout_agent(load_agent(run), run.spec, tasks, trials=EPISODES, seed=SEED)
    now = rollout_agent(load_agent(run), run.spec, tasks, trials=EPISODES, seed=SEED)
    assert len(now) == len(tasks) * EPISODES
    assert now == before


@pytest.mark.parametrize("method", ["dr", "adapt"])
@pytest.mark.fast_subset({"method": "adapt"})
def test_parallel_trials_play_the_episodes_of_one_slot_per_task(runs: dict[str, Path], method: str) -> None:
    before, batched = _both_layouts(Run.load(runs[method]), "test-interpolation")
    assert len(batched) == 16 * EPISODES
    assert batched == before
    if method == "adapt":
        assert all(p.latent is not None and len(p.latent) == p.length for p in batched)


def test_stochastic_actions_keep_one_slot_per_task(runs: dict[str, Path]) -> None:
    """Sampled actions draw from one generator slot after slot: the layout is kept."""
    run = Run.load(runs["dr"])
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks)
    kwargs = {"episodes": 3, "trial_episodes": 1, "seed": SEED, "deterministic": False}
    parallel = play(load_agent(run), run.spec, tasks, **kwargs)  # type: ignore[arg-type]
    sequential = play(load_agent(run), run.spec, tasks, parallel=False, **kwargs)  # type: ignore[arg-type]
    assert parallel == sequential


@pytest.mark.slow
def test_continuous_actions_too(tmp_path: Path) -> None:
    """Pendulum: continuous actions, every episode the full 200 steps."""
    run = train(tiny_config(tmp_path / "run", "dr", env="mtml/Pendulum-v0"), progress=False)
    before, batched = _both_layouts(run, "test-extrapolation")
    assert batched == before
    assert len({p.ret for p in batched}) == len(batched)
    tasks = list(build_splits(run.spec)["test-extrapolation"].tasks)
    previous = previous_rollout_agent(load_agent(run), run.spec, tasks, trials=EPISODES, seed=SEED)
    assert rollout_agent(load_agent(run), run.spec, tasks, trials=EPISODES, seed=SEED) == previous
