"""The vector env agrees exactly with single envs; seeding, pickling and subprocesses work.

Convention under test: slot ``i`` of ``gym.make_vec(id, num_envs=N)`` reset with seed ``s``
runs exactly as ``gym.make(id)`` reset with seed ``s + i``, whose finished episodes are
followed by a plain ``reset()`` (the vector env's same-step autoreset).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import mtml_rl
from mtml_rl.envs import MultiTaskVectorEnv
from mtml_rl.specs import build_splits

CARTPOLE_ID = "mtml/CartPole-v0"
NUM_ENVS = 4
SEED = 11
TIME_LIMIT = 25
STEPS = 120

# (context, history_len, split, trial_episodes)
CONFIGS = [
    pytest.param("hidden", 0, "train", 1, id="hidden"),
    pytest.param("visible", 0, "test", 1, id="visible-test"),
    pytest.param("privileged", 4, "train", 1, id="privileged-history"),
    pytest.param("hidden", 4, "test-extrapolation", 2, id="history-trials"),
]


def make_cartpole() -> gym.Env[Any, Any]:
    """A module-level factory (picklable by reference, for ``start_method="spawn"``)."""
    return gym.make(f"mtml_rl:{CARTPOLE_ID}")


def random_actions(space: spaces.Space[Any], steps: int, seed: int) -> list[np.ndarray]:
    """``steps`` batched actions for a batched action ``space``, from a seeded generator."""
    rng = np.random.default_rng(seed)
    if isinstance(space, spaces.MultiDiscrete):
        return [rng.integers(0, space.nvec) for _ in range(steps)]
    assert isinstance(space, spaces.Box)
    return [rng.uniform(space.low, space.high).astype(space.dtype) for _ in range(steps)]


def assert_obs_equal(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of array or Dict observations."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_obs_equal(a[key], b[key], f"{where}[{key}]")
        return
    assert np.array_equal(np.asarray(a), np.asarray(b)), f"{where}: {a} != {b}"


def slot(obs: Any, i: int) -> Any:
    """Slot ``i`` of a batched observation."""
    return {k: v[i] for k, v in obs.items()} if isinstance(obs, dict) else obs[i]


def skip_unless_context_shown(spec_id: str, context: str) -> None:
    """Skip ``visible``/``privileged`` runs of specs that declare ``privileged_context: false``."""
    if context != "hidden" and not mtml_rl.resolve_spec(spec_id).privileged_context:
        pytest.skip(f"{spec_id} declares privileged_context: false")


@dataclass
class SingleEnvs:
    """``n`` single envs stepped in lockstep, each reset after its episode ends."""

    envs: list[gym.Env[Any, Any]]
    obs: list[Any] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    def reset(self, seed: int) -> None:
        results = [env.reset(seed=seed + i) for i, env in enumerate(self.envs)]
        self.obs = [obs for obs, _ in results]
        self.tasks = [info["task"] for _, info in results]

    def step(self, actions: np.ndarray) -> tuple[list[Any], list[Any]]:
        """One step of every env; returns the step results and the final observations."""
        results, finals = [], []
        for i, env in enumerate(self.envs):
            obs, reward, terminated, truncated, info = env.step(actions[i])
            results.append((reward, terminated, truncated))
            finals.append(obs if terminated or truncated else None)
            if terminated or truncated:
                obs, info = env.reset()
            self.obs[i] = obs
            self.tasks[i] = info["task"]
        return results, finals


def run_and_compare(spec_id: str, steps: int = STEPS, **kwargs: Any) -> dict[str, int]:
    """Step a vector env and single envs side by side; returns counts of what happened."""
    venv = gym.make_vec(spec_id, num_envs=NUM_ENVS, max_episode_steps=TIME_LIMIT, **kwargs)
    singles = SingleEnvs([gym.make(spec_id, max_episode_steps=TIME_LIMIT, **kwargs) for _ in range(NUM_ENVS)])
    obs, info = venv.reset(seed=SEED)
    singles.reset(SEED)
    counts = {"terminated": 0, "truncated": 0, "truncated_only": 0}
    tasks = venv.unwrapped.tasks  # type: ignore[attr-defined]
    for t, actions in enumerate(random_actions(venv.action_space, steps, seed=SEED)):
        for i in range(NUM_ENVS):
            assert_obs_equal(slot(obs, i), singles.obs[i], f"step {t} slot {i} obs")
            assert tasks[info["task_index"][i]].id == singles.tasks[i], f"step {t} slot {i} task"
        obs, reward, terminated, truncated, info = venv.step(actions)
        results, finals = singles.step(actions)
        for i, (r, term, trunc) in enumerate(results):
            assert (reward[i], terminated[i], truncated[i]) == (r, term, trunc), f"step {t} slot {i}"
            if finals[i] is None:
                assert "_final_obs" not in info or not info["_final_obs"][i]
            else:
                assert info["_final_obs"][i]
                assert_obs_equal(info["final_obs"][i], finals[i], f"step {t} slot {i} final_obs")
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
        counts["truncated_only"] += int((truncated & ~terminated).sum())
    for i in range(NUM_ENVS):
        assert_obs_equal(slot(obs, i), singles.obs[i], f"last step slot {i} obs")
    return counts


# -- vector == single ---------------------------------------------------------------------------
@pytest.mark.parametrize(("context", "history_len", "split", "trial_episodes"), CONFIGS)
@pytest.mark.fast_subset(  # every family once, every layout at least once
    {"numpy_spec_id": "mtml/Acrobot-v0", "context": "hidden", "history_len": 0},
    {"numpy_spec_id": "mtml/CartPole-v0", "trial_episodes": 2},
    {"numpy_spec_id": "mtml/MountainCarContinuous-v0", "context": "visible"},
    {"numpy_spec_id": "mtml/Pendulum-v0", "context": "privileged"},
    {"numpy_spec_id": "mtml/PointNav-v0", "context": "hidden", "history_len": 0},
)
def test_vector_env_equals_single_envs(
    numpy_spec_id: str, context: str, history_len: int, split: str, trial_episodes: int
) -> None:
    if split not in build_splits(mtml_rl.resolve_spec(numpy_spec_id)) and split != "test":
        pytest.skip(f"{numpy_spec_id} has no {split} split")
    skip_unless_context_shown(numpy_spec_id, context)
    counts = run_and_compare(
        numpy_spec_id, context=context, history_len=history_len, split=split, trial_episodes=trial_episodes
    )
    assert counts["truncated"] > 0, "the run should reach the time limit"


def test_vector_env_equals_single_envs_with_fixed_tasks(numpy_spec_id: str) -> None:
    splits = build_splits(mtml_rl.resolve_spec(numpy_spec_id))
    tasks = [t.as_dict() for t in splits["test"].tasks[:3]]
    venv = gym.make_vec(numpy_spec_id, num_envs=NUM_ENVS, tasks=tasks)
    venv.reset(seed=SEED)
    expected = [splits["test"].tasks[i % 3] for i in range(NUM_ENVS)]
    assert venv.unwrapped.current_tasks() == expected  # type: ignore[attr-defined]
    for t in range(3):
        singles = [gym.make(numpy_spec_id, task=tasks[i % 3]) for i in range(NUM_ENVS)]
        first = [env.reset(seed=SEED + t * NUM_ENVS + i)[0] for i, env in enumerate(singles)]
        obs, _ = venv.reset(seed=SEED + t * NUM_ENVS)
        for i in range(NUM_ENVS):
            assert_obs_equal(slot(obs, i), first[i])
    assert venv.unwrapped.current_tasks() == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("history_len", [0, 3])
def test_next_step_autoreset_equals_single_envs(numpy_spec_id: str, history_len: int) -> None:
    """NEXT_STEP: a finished slot returns its final observation, then resets on the next step
    (action ignored, reward 0, flags false), exactly like a single env reset by hand."""
    venv = gym.make_vec(
        numpy_spec_id,
        num_envs=NUM_ENVS,
        max_episode_steps=TIME_LIMIT,
        history_len=history_len,
        autoreset_mode=AutoresetMode.NEXT_STEP,
    )
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    singles = [
        gym.make(numpy_spec_id, max_episode_steps=TIME_LIMIT, history_len=history_len) for _ in range(4)
    ]
    obs, _ = venv.reset(seed=SEED)
    expected = [env.reset(seed=SEED + i)[0] for i, env in enumerate(singles)]
    pending = [False] * NUM_ENVS
    resets = 0
    for t, actions in enumerate(random_actions(venv.action_space, STEPS, seed=SEED)):
        for i in range(NUM_ENVS):
            assert_obs_equal(slot(obs, i), expected[i], f"step {t} slot {i} obs")
        obs, reward, terminated, truncated, _ = venv.step(actions)
        for i, env in enumerate(singles):
            if pending[i]:
                expected[i], _ = env.reset()
                assert (reward[i], terminated[i], truncated[i]) == (0.0, False, False)
                pending[i], resets = False, resets + 1
                continue
            expected[i], r, term, trunc, _ = env.step(slot(actions, i))
            assert (reward[i], terminated[i], truncated[i]) == (r, term, trunc), f"step {t} slot {i}"
            pending[i] = term or trunc
    assert resets > 0


def test_unknown_autoreset_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="autoreset_mode"):
        MultiTaskVectorEnv(CARTPOLE_ID, num_envs=2, autoreset_mode="sometimes")


def test_cartpole_run_covers_termination_and_time_limit() -> None:
    """The comparison above is only meaningful if both kinds of episode end happen."""
    counts = run_and_compare(CARTPOLE_ID)
    assert counts["terminated"] > 0
    assert counts["truncated_only"] > 0


def test_time_limit_only_sets_truncated(numpy_spec_id: str) -> None:
    """At the limit ``truncated`` is set and ``terminated`` is whatever the dynamics say."""
    limit = 7
    venv = gym.make_vec(numpy_spec_id, num_envs=NUM_ENVS, max_episode_steps=limit)
    single = gym.make(numpy_spec_id, max_episode_steps=-1)  # no time limit at all
    venv.reset(seed=SEED)
    single.reset(seed=SEED)
    elapsed = np.zeros(NUM_ENVS, dtype=np.int64)
    for actions in random_actions(venv.action_space, 5 * limit, seed=1):
        _, _, terminated, truncated, _ = venv.step(actions)
        _, _, single_terminated, single_truncated, _ = single.step(actions[0])
        elapsed += 1
        assert np.array_equal(truncated, elapsed == limit)
        assert terminated[0] == single_terminated and not single_truncated
        elapsed[terminated | truncated] = 0
        if single_terminated or truncated[0]:
            single.reset()


# -- seeding ------------------------------------------------------------------------------------
def _task_sequence(spec_id: str, seed: int, steps: int = 150) -> list[list[int]]:
    venv = gym.make_vec(spec_id, num_envs=NUM_ENVS, max_episode_steps=10)
    _, info = venv.reset(seed=seed)
    sequence = [info["task_index"].tolist()]
    for actions in random_actions(venv.action_space, steps, seed=0):
        info = venv.step(actions)[-1]
        sequence.append(info["task_index"].tolist())
    return sequence


def test_same_seed_gives_the_same_task_sequence(numpy_spec_id: str) -> None:
    first = _task_sequence(numpy_spec_id, SEED)
    assert first == _task_sequence(numpy_spec_id, SEED)
    assert first != _task_sequence(numpy_spec_id, SEED + 1)
    assert len({i for row in first for i in row}) > NUM_ENVS, "tasks should change at resets"


def test_same_seed_gives_the_same_single_env_task_sequence(numpy_spec_id: str) -> None:
    def sequence(seed: int) -> list[str]:
        env = gym.make(numpy_spec_id)
        return [env.reset(seed=seed if k == 0 else None)[1]["task"] for k in range(30)]

    assert sequence(SEED) == sequence(SEED)
    assert sequence(SEED) != sequence(SEED + 1)


def test_task_forced_for_one_episode_leaves_the_schedule_alone(numpy_spec_id: str) -> None:
    """``reset(options={"task": ...})`` runs that task once; the split's sequence goes on as before."""
    held_out = build_splits(mtml_rl.resolve_spec(numpy_spec_id))["test"].tasks[0]
    plain, forced = gym.make(numpy_spec_id), gym.make(numpy_spec_id)
    plain.reset(seed=SEED)
    _, info = forced.reset(seed=SEED, options={"task": held_out})
    assert info["task"] == held_out.id
    after_plain = [plain.reset()[1]["task"] for _ in range(300)]
    after_forced = [forced.reset()[1]["task"] for _ in range(300)]
    assert after_forced == after_plain
    assert held_out.id not in after_forced
    assert forced.unwrapped.tasks == plain.unwrapped.tasks  # type: ignore[attr-defined]


def test_reset_with_a_seed_restarts_the_sequence() -> None:
    venv = gym.make_vec(CARTPOLE_ID, num_envs=NUM_ENVS)
    first = venv.reset(seed=SEED)
    for actions in random_actions(venv.action_space, 40, seed=0):
        venv.step(actions)
    again = venv.reset(seed=SEED)
    assert_obs_equal(first[0], again[0])
    assert np.array_equal(first[1]["task_index"], again[1]["task_index"])


def test_per_slot_seed_list_equals_int_seed() -> None:
    venv = gym.make_vec(CARTPOLE_ID, num_envs=NUM_ENVS)
    by_int = venv.reset(seed=SEED)
    by_list = venv.reset(seed=[SEED + i for i in range(NUM_ENVS)])  # type: ignore[arg-type]
    assert_obs_equal(by_int[0], by_list[0])


def test_reset_mask_resets_only_masked_slots() -> None:
    venv = gym.make_vec(CARTPOLE_ID, num_envs=NUM_ENVS)
    obs, _ = venv.reset(seed=SEED)
    obs, *_ = venv.step(np.ones(NUM_ENVS, dtype=np.int64))
    mask = np.array([True, False, True, False])
    after, _ = venv.reset(options={"reset_mask": mask})
    assert np.array_equal(after[~mask], obs[~mask])
    assert not np.array_equal(after[mask], obs[mask])


# -- observation layout -------------------------------------------------------------------------
def test_context_is_the_normalized_task_of_each_slot(numpy_spec_id: str) -> None:
    skip_unless_context_shown(numpy_spec_id, "privileged")
    spec = mtml_rl.resolve_spec(numpy_spec_id)
    venv = gym.make_vec(numpy_spec_id, num_envs=8, context="privileged", split="train")
    obs, info = venv.reset(seed=SEED)
    tasks = venv.unwrapped.tasks  # type: ignore[attr-defined]
    for i, k in enumerate(info["task_index"]):
        task = tasks[k]
        expected = [(task[p.name] - p.center) / p.half_width for p in spec.parameters]
        assert np.allclose(obs["context"][i], expected, atol=1e-6)
        assert np.all(np.abs(obs["context"][i]) <= 1.0 + 1e-6), "train contexts lie in [-1, 1]"


def test_visible_context_is_appended_to_the_observation(numpy_spec_id: str) -> None:
    skip_unless_context_shown(numpy_spec_id, "visible")
    hidden = gym.make(numpy_spec_id, context="hidden")
    visible = gym.make(numpy_spec_id, context="visible")
    privileged = gym.make(numpy_spec_id, context="privileged")
    h, _ = hidden.reset(seed=SEED)
    v, _ = visible.reset(seed=SEED)
    p, _ = privileged.reset(seed=SEED)
    assert np.array_equal(v, np.concatenate([h, p["context"]]))
    assert np.array_equal(p["obs"], h)


def test_history_rows_are_obs_action_reward_oldest_first() -> None:
    history_len = 3
    env = gym.make(CARTPOLE_ID, history_len=history_len)
    obs, _ = env.reset(seed=SEED)
    assert np.array_equal(obs["history"], np.zeros(history_len * 7, dtype=np.float32))
    rows = []
    for action in (1, 0, 1, 1):
        before = obs["obs"]
        obs, reward, *_ = env.step(action)
        rows.append(np.concatenate([before, np.eye(2, dtype=np.float32)[action], [reward]]))
        expected = np.zeros((history_len, 7), dtype=np.float32)
        recent = rows[-history_len:]
        expected[history_len - len(recent) :] = recent
        assert np.array_equal(obs["history"], expected.reshape(-1))
    obs, _ = env.reset()
    assert not obs["history"].any(), "a new episode starts with an empty history"


# -- pickling -----------------------------------------------------------------------------------
def _continue(env: Any, actions: list[Any]) -> list[Any]:
    """Step through ``actions`` (resetting single envs when done); returns everything seen."""
    seen = []
    for action in actions:
        out = env.step(action)
        seen.append(out[:4])
        if not isinstance(env, gym.vector.VectorEnv) and (out[2] or out[3]):
            seen.append(env.reset()[0])
    return seen


def _assert_same_runs(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple):
            assert_obs_equal(x[0], y[0])
            for u, v in zip(x[1:], y[1:], strict=True):
                assert np.array_equal(u, v)
        else:
            assert_obs_equal(x, y)


@pytest.mark.parametrize("history_len", [0, 4])
def test_single_env_pickle_round_trip(history_len: int) -> None:
    env = gym.make(CARTPOLE_ID, history_len=history_len, context="privileged")
    env.reset(seed=SEED)
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 2, size=200)]
    _continue(env, actions[:15])
    clone = pickle.loads(pickle.dumps(env))
    _assert_same_runs(_continue(env, actions[15:]), _continue(clone, actions[15:]))


@pytest.mark.parametrize("history_len", [0, 4])
def test_vector_env_pickle_round_trip(history_len: int) -> None:
    venv = gym.make_vec(CARTPOLE_ID, num_envs=NUM_ENVS, history_len=history_len)
    venv.reset(seed=SEED)
    actions = random_actions(venv.action_space, 200, seed=0)
    _continue(venv, actions[:15])
    clone = pickle.loads(pickle.dumps(venv))
    assert isinstance(clone, MultiTaskVectorEnv)
    _assert_same_runs(_continue(venv, actions[15:]), _continue(clone, actions[15:]))


# -- processes ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_subproc_vec_env_with_spawn_matches_dummy_vec_env() -> None:
    subproc = SubprocVecEnv([make_cartpole, make_cartpole], start_method="spawn")
    dummy = DummyVecEnv([make_cartpole, make_cartpole])
    try:
        subproc.seed(SEED)
        dummy.seed(SEED)
        assert_obs_equal(subproc.reset(), dummy.reset())
        done_seen = False
        for actions in random_actions(spaces.MultiDiscrete([2, 2]), 60, seed=0):
            obs, rewards, dones, infos = subproc.step(actions)
            d_obs, d_rewards, d_dones, d_infos = dummy.step(actions)
            assert_obs_equal(obs, d_obs)
            assert np.array_equal(rewards, d_rewards)
            assert np.array_equal(dones, d_dones)
            for i in np.flatnonzero(dones):
                done_seen = True
                assert np.array_equal(infos[i]["terminal_observation"], d_infos[i]["terminal_observation"])
                assert infos[i]["task"] == d_infos[i]["task"]
        assert done_seen
    finally:
        subproc.close()
        dummy.close()


FRESH_INTERPRETER = """
import json, sys
import gymnasium as gym
assert "mtml_rl" not in sys.modules
env = gym.make("mtml_rl:mtml/CartPole-v0")
obs, info = env.reset(seed=3)
venv = gym.make_vec("mtml_rl:mtml/CartPole-v0", num_envs=2)
vobs, _ = venv.reset(seed=3)
print(json.dumps({"obs": obs.tolist(), "task": info["task"], "vobs": vobs.tolist()}))
"""


def test_gym_make_with_module_prefix_works_in_a_fresh_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRESH_INTERPRETER], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    obs, info = gym.make(CARTPOLE_ID).reset(seed=3)
    assert result["task"] == info["task"]
    assert np.array_equal(np.array(result["obs"], dtype=np.float32), obs)
    assert np.array_equal(np.array(result["vobs"], dtype=np.float32)[0], obs)


def test_set_tasks_mid_episode_keeps_naming_the_running_tasks() -> None:
    """Slots finish the episode they are in with its task; ``current_tasks`` and
    ``final_task_index`` name it, even when the new task list is shorter."""
    env = MultiTaskVectorEnv(CARTPOLE_ID, num_envs=NUM_ENVS, split="train")
    env.reset(seed=SEED)
    running = env.current_tasks()
    new = list(build_splits(env.task_spec)["test-extrapolation"].tasks)[:1]
    env.set_tasks(new)
    assert env.current_tasks() == running
    finished: dict[int, Any] = {}
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(np.zeros(NUM_ENVS, dtype=np.int64))
        for slot in np.flatnonzero(terminated | truncated):
            finished.setdefault(int(slot), env.tasks[info["final_task_index"][slot]])
        if len(finished) == NUM_ENVS:
            break
    assert finished == dict(enumerate(running))
    assert env.current_tasks() == new * NUM_ENVS
