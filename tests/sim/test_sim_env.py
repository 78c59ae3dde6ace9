"""SimMultiTaskEnv's task scheduling, observation layouts and random state."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from sim_helpers import actions, assert_same_rollout, rollout

import mtml_rl
from mtml_rl.envs import make_task_vector_env
from mtml_rl.envs.sim_env import SimMultiTaskEnv
from mtml_rl.families.sim import TaskReward
from mtml_rl.specs import build_splits

SPEC_ID = "mtml/LunarLander-v0"


def task_sequence(env: gym.Env[Any, Any], seed: int, n: int, **reset_options: Any) -> list[str]:
    """Task ids of ``n`` episodes: the first reset seeded, the others not."""
    ids = [env.reset(seed=seed)[1]["task"]]
    for _ in range(n - 1):
        ids.append(env.reset(options=reset_options or None)[1]["task"])
    return ids


def test_the_scheduler_draws_from_the_seeded_task_stream() -> None:
    env = gym.make(SPEC_ID)
    tasks = build_splits(mtml_rl.resolve_spec(SPEC_ID))["train"].tasks
    stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence(42, spawn_key=(1,))))
    expected = [tasks[int(u * len(tasks))].id for u in stream.random(5)]
    assert task_sequence(env, 42, 5) == expected
    assert task_sequence(env, 42, 5) == expected
    assert task_sequence(env, 43, 5) != expected
    env.close()


def test_a_forced_task_runs_one_episode_and_leaves_the_sequence_alone() -> None:
    env = gym.make(SPEC_ID)
    plain = task_sequence(env, 7, 4)
    forced = {"gravity": 2.0, "wind_power": 3.0, "turbulence_power": 0.5}
    env.reset(seed=7)
    _, info = env.reset(options={"task": forced})
    assert info["task_params"] == forced
    assert [env.reset()[1]["task"] for _ in range(2)] == plain[2:]
    env.close()


def test_rng_state_round_trip_replays_task_and_trajectory() -> None:
    env = gym.make(SPEC_ID)
    env.reset(seed=3)
    sim_env: Any = env.unwrapped
    assert isinstance(sim_env, SimMultiTaskEnv)
    state = sim_env.rng_state()
    acts = actions(env.action_space, 40, seed=0)
    first_task = env.reset()[1]["task"]
    first = [env.step(a)[0] for a in acts]
    sim_env.set_rng_state(state)
    assert env.reset()[1]["task"] == first_task
    assert all(np.array_equal(a, b) for a, b in zip(first, [env.step(a)[0] for a in acts], strict=True))
    env.close()


def test_visible_context_is_the_normalized_task_and_hidden_obs_is_the_prefix() -> None:
    task = {"gravity": 8.5, "wind_power": 2.5, "turbulence_power": 0.25}
    visible = gym.make(SPEC_ID, task=task, context="visible")
    hidden = gym.make(SPEC_ID, task=task)
    obs_v, _ = visible.reset(seed=0)
    obs_h, _ = hidden.reset(seed=0)
    spec = mtml_rl.resolve_spec(SPEC_ID)
    expected = [(task[p.name] - p.center) / p.half_width for p in spec.parameters]
    np.testing.assert_allclose(obs_v[-3:], expected, rtol=1e-6)
    assert np.array_equal(obs_v[:-3], obs_h)
    visible.close()
    hidden.close()


def test_history_holds_the_last_transitions_oldest_first() -> None:
    env = gym.make(SPEC_ID, task={}, context="privileged", history_len=2)
    obs0, _ = env.reset(seed=0)
    assert not obs0["history"].any()
    acts = [np.array([0.3, -2.0], dtype=np.float32), np.array([-0.7, 0.9], dtype=np.float32)]
    obs1, r1, *_ = env.step(acts[0])
    obs2, r2, *_ = env.step(acts[1])
    rows = obs2["history"].reshape(2, -1)
    assert np.array_equal(
        rows[0], np.concatenate([obs0["obs"], [0.3, -1.0], [np.float32(r1)]]).astype(np.float32)
    )
    assert np.array_equal(
        rows[1], np.concatenate([obs1["obs"], acts[1], [np.float32(r2)]]).astype(np.float32)
    )
    assert np.array_equal(obs2["context"], obs0["context"])
    env.close()


def test_fixed_task_env_reproduces_itself_from_the_same_seed() -> None:
    env = gym.make("mtml/AntGoal-v1", task={"goal_x": 2.0, "goal_y": 1.0})
    acts = actions(env.action_space, 30, seed=9)
    assert_same_rollout(rollout(env, 1, acts), rollout(env, 1, acts))
    _, info = env.reset(seed=1)
    assert info["is_success"] is False  # the torso starts near the origin, 2.2 m away
    _, info = env.reset(seed=1, options={"task": {"goal_x": 0.0, "goal_y": 0.1}})
    assert info["is_success"] is True
    env.close()


def test_ant_goal_observes_where_the_torso_stands() -> None:
    """The goal is hidden, the ant's own x and y are not (as in PEARL): the first two values
    of the observation are the torso's position, the reward's distance is measured from."""
    env = gym.make("mtml/AntGoal-v1", task={"goal_x": 2.0, "goal_y": 1.0})
    assert env.observation_space.shape == (107,)
    env.reset(seed=3)
    for action in actions(env.action_space, 25, seed=4):
        obs, _, _, _, info = env.step(action)
        assert obs[:2] == pytest.approx([info["x_position"], info["y_position"]], abs=1e-6)
    assert not np.allclose(obs[:2], 0.0, atol=1e-3)  # the torso has moved off its start
    env.close()


def test_pickle_round_trip_rebuilds_the_simulator() -> None:
    env = gym.make("mtml/HopperParams-v0", task={"mass_exp": 1.0}).unwrapped
    env.reset(seed=0)
    copy = pickle.loads(pickle.dumps(env))
    acts = actions(env.action_space, 20, seed=2)
    assert_same_rollout(rollout(copy, 1, acts), rollout(env, 1, acts))
    env.close()
    copy.close()


def test_a_user_spec_file_of_a_sim_family_builds_a_sim_env(tmp_path: Path) -> None:
    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "envs" / "HalfCheetahVel.yaml").read_text())
    data["name"] = "MyCheetahVel"
    data["parameters"]["target_velocity"] = {"train": [1.0, 2.0]}
    data["splits"] = {"train": 4}
    path = tmp_path / "my_cheetah.yaml"
    path.write_text(yaml.safe_dump(data))
    env = mtml_rl.make(path)
    assert isinstance(env.unwrapped, SimMultiTaskEnv)
    assert gym.spec("mtml/MyCheetahVel-v0").vector_entry_point is None
    _, info = env.reset(seed=0)
    assert 1.0 <= info["task_params"]["target_velocity"] <= 2.0
    env.close()


def _capturing(slot: Any, reuse: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Wrap the slot's simulator step: record each ``info`` it returns (or, with ``reuse``,
    return that one dict every time, refilled with the simulator's entries)."""
    returned: list[dict[str, Any]] = []
    step = slot._sim_step

    def recorded(action: Any) -> Any:
        *out, info = step(action)
        if reuse is not None:
            reuse.clear()
            reuse.update(info)
            info = reuse
        returned.append(info)
        return (*out, info)

    slot._sim_step = recorded
    return returned


def test_a_step_extends_the_simulators_fresh_info_dict_in_place() -> None:
    """HalfCheetah-v5 builds its ``info`` at every step (``fresh_info``): the env writes the
    task reward's terms and the task's entries into it instead of building a second dict."""
    env = gym.make("mtml/HalfCheetahVel-v0", task={"target_velocity": 1.0})
    env.reset(seed=0)
    returned = _capturing(env.unwrapped._engine)  # type: ignore[attr-defined]
    acts = actions(env.action_space, 2, seed=1)
    infos = [env.step(a)[4] for a in acts]
    assert [info is sim for info, sim in zip(infos, returned, strict=True)] == [True, True]
    assert infos[0]["task_params"]["target_velocity"] == 1.0 and infos[0]["task"] == infos[1]["task"]
    assert infos[0]["reward_forward"] == -abs(infos[0]["x_velocity"] - 1.0), "the task's term replaced v5's"
    env.close()


def test_a_simulator_info_dict_that_may_be_reused_is_copied(monkeypatch: Any) -> None:
    """A family that does not declare ``fresh_info`` has the simulator's dict copied: a
    simulator refilling one dict does not change an ``info`` handed out before."""
    from mtml_rl.families.locomotion import HalfCheetahVel

    monkeypatch.setattr(HalfCheetahVel, "fresh_info", False)
    env = gym.make("mtml/HalfCheetahVel-v0", task={"target_velocity": 1.0})
    env.reset(seed=0)
    _capturing(env.unwrapped._engine, reuse={})  # type: ignore[attr-defined]
    first, second = (env.step(a)[4] for a in actions(env.action_space, 2, seed=1))
    assert first is not second and first["x_position"] != second["x_position"]
    assert first["task"] == second["task"] and "reward_forward" in first
    env.close()


@pytest.mark.parametrize("spec_id", ["mtml/HalfCheetahVel-v0", "mtml/AntDir-v0", "mtml/AntGoal-v1"])
def test_task_reward_is_the_in_place_reward_and_the_entries_it_writes(spec_id: str) -> None:
    """The locomotion families define their reward in place (``task_reward_into``, what the
    envs call at every step); ``task_reward`` gives the same reward and, as its terms, exactly
    the entries the in-place reward writes, leaving the simulator's ``info`` as it was."""
    spec = mtml_rl.resolve_spec(spec_id)
    family: Any = spec.family_cls()
    params = family.params(build_splits(spec)["train"].tasks[0])
    sim = family.build()
    family.apply_task(sim, params, family.snapshot(sim))
    sim.reset(seed=0)
    action = np.linspace(-0.9, 0.9, sim.action_space.shape[0]).astype(np.float32)
    _, sim_reward, _, _, info = sim.step(action)
    before = dict(info)
    out = family.task_reward(params, action, float(sim_reward), info)
    assert isinstance(out, TaskReward) and info == before
    written = dict(info)
    assert family.task_reward_into(params, action, float(sim_reward), written) == out.reward
    assert set(out.terms) == {"reward_forward", "reward_ctrl"}
    assert list(written.items()) == list({**info, **out.terms}.items())
    sim.close()


def test_a_family_that_defines_task_reward_only_has_its_reward_and_terms(monkeypatch: Any) -> None:
    """A family written against ``task_reward`` alone (returning a ``TaskReward``): the single
    env and each slot of the vector env give its reward and write its terms into ``info``."""
    from mtml_rl.families.lunarlander import LunarLander

    task = {"gravity": 8.0}
    plain = gym.make(SPEC_ID, task=task)

    def doubled(self: Any, params: Any, action: Any, sim_reward: float, info: Any) -> TaskReward:
        return TaskReward(2.0 * sim_reward, {"doubled": True})

    monkeypatch.setattr(LunarLander, "task_reward", doubled)
    ours = gym.make(SPEC_ID, task=task)
    venv = make_task_vector_env(SPEC_ID, num_envs=1, task=task)
    plain.reset(seed=3)
    ours.reset(seed=3)
    venv.reset(seed=3)
    for action in actions(ours.action_space, 20, seed=2):
        reward = plain.step(action)[1]
        _, doubled_reward, _, _, doubled_info = ours.step(action)
        assert doubled_reward == 2.0 * reward and doubled_info["doubled"] is True
        assert venv.step(action[None])[1][0] == doubled_reward
        assert venv.slots.infos[0]["doubled"] is True  # type: ignore[attr-defined]
    for env in (plain, ours, venv):
        env.close()
