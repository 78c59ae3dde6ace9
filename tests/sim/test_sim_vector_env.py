"""SimVectorEnv: N simulator slots with the interface of the numpy vector env.

Slot ``i`` of a vector env reset with seed ``s`` runs exactly what a single
:class:`SimMultiTaskEnv` reset with seed ``s + i`` runs (tasks, observations, rewards,
flags), through time-limit truncations, terminations, autoresets and trials; its random
state round-trips for checkpoints; the factory picks the engine by family.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mtml_rl
from mtml_rl.envs import (
    MultiTaskVectorEnv,
    SimMultiTaskEnv,
    SimVectorEnv,
    make_task_env,
    make_task_vector_env,
)
from mtml_rl.envs.sb3 import SB3VecEnv
from mtml_rl.envs.sim_threads import chunks
from mtml_rl.errors import TaskError
from mtml_rl.specs import build_splits

N = 3
STEPS = 90
LIMIT = 25
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def singles(spec_id: str, n: int, **kwargs: Any) -> list[gym.Env[Any, Any]]:
    """``n`` single envs with the vector env's time limit."""
    return [mtml_rl.make(spec_id, max_episode_steps=LIMIT, **kwargs) for _ in range(n)]


def random_actions(space: gym.spaces.Space[Any], steps: int, seed: int) -> list[np.ndarray]:
    """Batched actions: uniform float32 ones beyond the bounds too (the simulators clamp),
    or uniform discrete ones."""
    rng = np.random.default_rng(seed)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return [rng.integers(0, space.nvec) for _ in range(steps)]
    assert isinstance(space, gym.spaces.Box)
    return [rng.uniform(-1.5, 1.5, space.shape).astype(np.float32) for _ in range(steps)]


def same_obs(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(a, b))


def same_value(a: Any, b: Any) -> bool:
    """Equal observations, arrays, or object arrays (e.g. ``final_obs`` of dict
    observations) element by element."""
    if isinstance(a, np.ndarray) and a.dtype == object:
        return a.shape == b.shape and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return same_obs(a, b)


def row(obs: Any, i: int) -> Any:
    return {k: v[i] for k, v in obs.items()} if isinstance(obs, dict) else obs[i]


CASES = [
    ("mtml/HopperParams-v0", {"context": "privileged", "history_len": 3}),
    ("mtml/HalfCheetahVel-v0", {"context": "visible", "trial_episodes": 2, "history_len": 2}),
    ("mtml/LunarLander-v0", {}),
    # the generic family: Discrete actions, a Box rescaled to the simulator's range, derived values
    (str(EXAMPLES / "MountainCarForce.yaml"), dict(context="privileged", history_len=2, trial_episodes=2)),
    (str(EXAMPLES / "InvertedPendulumPoleMass.yaml"), {"context": "visible", "history_len": 2}),
    (str(EXAMPLES / "CartPolePoleMass.yaml"), {}),
]


@pytest.mark.parametrize(("spec_id", "kwargs"), CASES, ids=[Path(c[0]).name for c in CASES])
def test_each_slot_runs_what_a_single_env_with_its_seed_runs(spec_id: str, kwargs: dict[str, Any]) -> None:
    venv = make_task_vector_env(spec_id, num_envs=N, max_episode_steps=LIMIT, **kwargs)
    assert isinstance(venv, SimVectorEnv)
    envs = singles(spec_id, N, **kwargs)
    obs, info = venv.reset(seed=7)
    firsts = [env.reset(seed=7 + i) for i, env in enumerate(envs)]
    assert [venv.tasks[k].id for k in info["task_index"]] == [i["task"] for _, i in firsts]
    assert all(same_obs(row(obs, i), o) for i, (o, _) in enumerate(firsts))
    trial_episodes = kwargs.get("trial_episodes", 1)
    episodes = np.zeros(N, dtype=np.int64)
    for actions in random_actions(venv.action_space, STEPS, seed=1):
        obs, reward, terminated, truncated, info = venv.step(actions)
        for i, env in enumerate(envs):
            o, r, term, trunc, single_info = env.step(actions[i])
            assert (r, term, trunc) == (reward[i], terminated[i], truncated[i])
            if term or trunc:
                assert same_obs(info["final_obs"][i], o)
                assert venv.tasks[info["final_task_index"][i]].id == single_info["task"]
                if "is_success" in single_info:
                    assert info["final_is_success"][i] == single_info["is_success"]
                episodes[i] += 1
                o, single_info = env.reset()
                assert venv.slots.episode_in_trial[i] == episodes[i] % trial_episodes
            assert same_obs(row(obs, i), o)
            assert venv.current_tasks()[i].id == single_info["task"]
    assert episodes.min() >= 1, "no slot finished an episode: the test checks no autoreset"
    venv.close()


def test_trials_keep_the_task_and_the_history_window() -> None:
    venv = SimVectorEnv(
        "mtml/HopperParams-v0", num_envs=2, history_len=2, trial_episodes=2, max_episode_steps=5
    )
    venv.reset(seed=0)
    first = venv.current_tasks()
    zero = np.zeros((2, 3), dtype=np.float32)
    for _ in range(4):
        obs, *_ = venv.step(zero)
    obs, _, _, truncated, _ = venv.step(zero)  # the first episode ends: same task, history kept
    assert truncated.all() and venv.current_tasks() == first
    assert obs["history"].any(axis=1).all()
    assert (venv.slots.episode_in_trial == 1).all()
    for _ in range(5):  # the trial ends: the next task is drawn and the window emptied
        obs, *_ = venv.step(zero)
    assert venv.current_tasks() != first
    assert not obs["history"].any()


def test_fixed_tasks_rotate_over_the_slots_and_set_tasks_applies_at_resets() -> None:
    spec = mtml_rl.resolve_spec("mtml/HalfCheetahVel-v0")
    tasks = list(build_splits(spec)["test-interpolation"].tasks[:2])
    venv = make_task_vector_env(spec, num_envs=3, tasks=tasks)
    venv.reset(seed=0)
    assert venv.current_tasks() == [tasks[0], tasks[1], tasks[0]]
    venv.set_tasks([tasks[1]])
    assert venv.current_tasks() == [tasks[0], tasks[1], tasks[0]]
    venv.reset()
    assert venv.current_tasks() == [tasks[1]] * 3
    venv.close()


def test_rng_state_round_trip_replays_tasks_and_trajectories() -> None:
    venv = SimVectorEnv("mtml/HopperParams-v0", num_envs=2, max_episode_steps=LIMIT)
    venv.reset(seed=3)
    state = pickle.loads(pickle.dumps(venv.slots.rng_state()))  # checkpoints pickle it
    acts = random_actions(venv.action_space, 40, seed=2)

    def play() -> list[Any]:
        out = [venv.reset()]
        out += [venv.step(a)[:4] for a in acts]
        return out

    first = play()
    venv.slots.set_rng_state(state)
    again = play()
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True) if not isinstance(x, dict))
    venv.close()


def test_the_factory_picks_the_engine_by_family() -> None:
    assert type(make_task_vector_env("mtml/CartPole-v0", num_envs=2)) is MultiTaskVectorEnv
    assert isinstance(make_task_env("mtml/LunarLander-v0", task={}), SimMultiTaskEnv)
    assert not isinstance(make_task_env("mtml/Pendulum-v0", task={}), SimMultiTaskEnv)


def test_sb3_adapter_reports_terminal_observations_and_tasks() -> None:
    venv = SimVectorEnv("mtml/LunarLander-v0", num_envs=2, max_episode_steps=4)
    env = SB3VecEnv(venv)
    env.seed(0)
    env.reset()
    for _ in range(4):
        _, _, dones, infos = env.step(np.zeros((2, 2), dtype=np.float32))
    assert dones.all()
    assert all(i["TimeLimit.truncated"] and i["terminal_observation"].shape == (8,) for i in infos)
    assert {i["episode_task"] for i in infos} <= {t.id for t in venv.tasks}
    env.close()


def test_render_shows_slot_zero() -> None:
    venv = SimVectorEnv("mtml/LunarLander-v0", num_envs=2, render_mode="rgb_array")
    venv.reset(seed=0)
    frames = venv.render()
    assert frames is not None and frames[0].ndim == 3 and frames[0].dtype == np.uint8
    assert venv.metadata["render_fps"] == 50
    venv.close()


def test_set_tasks_mid_episode_keeps_naming_the_running_tasks() -> None:
    """As in the numpy vector env: the episode in progress finishes, and is reported, with
    the task it started with, even when the new task list is shorter."""
    venv = SimVectorEnv("mtml/HalfCheetahVel-v0", num_envs=N, split="train", max_episode_steps=4)
    venv.reset(seed=0)
    running = venv.current_tasks()
    new = list(build_splits(venv.task_spec)["test-extrapolation"].tasks)[:1]
    venv.set_tasks(new)
    assert venv.current_tasks() == running
    for _ in range(4):
        _, _, terminated, truncated, info = venv.step(np.zeros(venv.action_space.shape, dtype=np.float32))
    assert (terminated | truncated).all()
    assert [venv.tasks[i] for i in info["final_task_index"]] == running
    assert venv.current_tasks() == new * N


THREADED = [
    ("mtml/HalfCheetahVel-v0", {"context": "privileged", "history_len": 2, "trial_episodes": 2}),
    ("mtml/AntGoal-v1", {}),  # success flags
    ("mtml/LunarLander-v0", {}),  # a simulator that draws random numbers while stepping
]


@pytest.mark.parametrize(("spec_id", "kwargs"), THREADED, ids=[c[0] for c in THREADED])
@pytest.mark.parametrize("threads", [2, 4])
def test_threaded_stepping_gives_the_sequential_trajectories(
    spec_id: str, kwargs: dict[str, Any], threads: int
) -> None:
    """Stepping the simulators on threads changes nothing: observations, rewards, flags,
    final observations, tasks and success flags agree step for step with the sequential
    engine, through autoresets (5 slots: chunks of unequal size)."""
    envs = [
        make_task_vector_env(spec_id, num_envs=5, max_episode_steps=8, sim_threads=t, **kwargs)
        for t in (1, threads)
    ]
    assert [env.sim_threads for env in envs] == [1, threads]  # type: ignore[attr-defined]
    outs = [env.reset(seed=3) for env in envs]
    assert same_obs(outs[0][0], outs[1][0])
    finished = 0
    for actions in random_actions(envs[0].action_space, 20, seed=2):
        (obs, rew, term, trunc, info), (obs2, rew2, term2, trunc2, info2) = (
            env.step(actions) for env in envs
        )
        assert same_obs(obs, obs2)
        assert np.array_equal(rew, rew2) and np.array_equal(term, term2) and np.array_equal(trunc, trunc2)
        assert info.keys() == info2.keys()
        for key in info:
            assert same_value(info[key], info2[key]), key
        finished += int((term | trunc).sum())
    assert finished >= 5, "no autoreset was compared"
    for env in envs:
        env.close()


def test_sim_threads_resolves_auto_and_refuses_bad_values() -> None:
    venv = SimVectorEnv("mtml/HopperParams-v0", num_envs=3, sim_threads="auto")
    assert 1 <= venv.sim_threads <= 3
    venv.close()
    assert SimVectorEnv("mtml/HopperParams-v0", num_envs=2, sim_threads=8).sim_threads == 2
    for bad in (0, -1, 1.5, True, "many"):
        with pytest.raises(TaskError, match="sim_threads must be a positive integer or 'auto'"):
            SimVectorEnv("mtml/HopperParams-v0", num_envs=2, sim_threads=bad)  # type: ignore[arg-type]


def test_chunks_cover_every_slot_once_in_order() -> None:
    for slots in range(1, 10):
        for parts in range(1, 12):
            cut = chunks(slots, parts)
            assert [i for c in cut for i in c] == list(range(slots))
            assert len(cut) == min(parts, slots) and all(len(c) > 0 for c in cut)
            assert max(map(len, cut)) - min(map(len, cut)) <= 1
