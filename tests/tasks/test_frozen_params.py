"""``info["task_params"]`` is a read-only dict: equal to and serialized like the plain one,
its own (deep) copy, refusing changes with a message, and new on every step."""

from __future__ import annotations

import copy
import json
import pickle

import gymnasium as gym
import pytest
from stable_baselines3.common.env_util import make_vec_env

import mtml_rl  # noqa: F401  (registers the ids)
from mtml_rl.tasks.frozen import FrozenParams

VALUES = {"gravity": 9.8, "length": 0.5, "mode": "left"}


def test_it_is_the_plain_dict_but_read_only() -> None:
    params = FrozenParams(VALUES)
    assert params == VALUES and isinstance(params, dict) and json.dumps(params) == json.dumps(VALUES)
    assert copy.deepcopy(params) is params and copy.copy(params) is params
    assert pickle.loads(pickle.dumps(params)) == VALUES
    assert type(pickle.loads(pickle.dumps(params))) is FrozenParams
    for change in [
        lambda p: p.__setitem__("gravity", 1.0),
        lambda p: p.__delitem__("gravity"),
        lambda p: p.update(gravity=1.0),
        lambda p: p.pop("gravity"),
        lambda p: p.popitem(),
        lambda p: p.setdefault("x", 1.0),
        lambda p: p.clear(),
    ]:
        with pytest.raises(TypeError, match=r"read only.*dict\(info\['task_params'\]\)"):
            change(params)
    with pytest.raises(TypeError, match="read only"):
        params |= {"gravity": 1.0}
    assert params == VALUES
    editable = dict(params)
    editable["gravity"] = 1.0
    assert editable["gravity"] == 1.0 and params["gravity"] == 9.8


@pytest.mark.parametrize("env_id", ["mtml/CartPole-v0", "mtml/Pendulum-v0"])
def test_every_reset_and_step_gives_a_new_read_only_copy_of_the_tasks_values(env_id: str) -> None:
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    seen = [info["task_params"]]
    for _ in range(3):
        seen.append(env.step(env.action_space.sample())[4]["task_params"])
    assert all(type(p) is FrozenParams and p == seen[0] for p in seen)
    assert len({id(p) for p in seen}) == len(seen)  # no two calls share it
    task = env.unwrapped.task  # type: ignore[attr-defined]
    assert seen[0] == task.as_dict()


def test_sb3s_vec_env_hands_out_the_values_it_deep_copies() -> None:
    venv = make_vec_env("mtml/CartPole-v0", n_envs=2, seed=0)
    venv.reset()
    _, _, _, infos = venv.step([0, 1])
    assert all(type(info["task_params"]) is FrozenParams for info in infos)
    assert infos[0]["task_params"] == venv.envs[0].unwrapped.task.as_dict()  # type: ignore[attr-defined]
