"""The generic family on its Gymnasium environments: step-for-step reproduction at the
defaults, changed parameters change the motion (derived attributes and MuJoCo constants
recomputed), both env checkers in every split and context mode, discrete history windows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from check_env_helpers import warnings_as_errors
from gymnasium.utils.env_checker import check_env as gym_check_env
from sim_helpers import assert_same_rollout, rollout, same_trajectory
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mtml_rl
from mtml_rl.envs import make_task_vector_env
from mtml_rl.specs import TaskSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
MOUNTAINCAR = EXAMPLES / "MountainCarForce.yaml"
CARTPOLE = EXAMPLES / "CartPolePoleMass.yaml"
PENDULUM = EXAMPLES / "InvertedPendulumPoleMass.yaml"
EXAMPLE_FILES = [MOUNTAINCAR, CARTPOLE, PENDULUM]
STEPS = 400


def spec_of(path: Path) -> TaskSpec:
    """The example spec at ``path``."""
    return mtml_rl.resolve_spec(path)


def play(spec: TaskSpec, actions: list[Any], seed: int = 0, **task: float) -> list[Any]:
    """A rollout of ``actions`` on the spec's env at ``task`` (defaults for the rest)."""
    env = mtml_rl.make(spec.source, task=task)
    steps = rollout(env, seed, actions)
    env.close()
    return steps


def discrete_actions(n: int, seed: int = 0, count: int = STEPS) -> list[int]:
    """``count`` uniform actions in ``0 .. n-1``."""
    return [int(a) for a in np.random.default_rng(seed).integers(0, n, size=count)]


def box_actions(seed: int = 0, count: int = STEPS) -> list[np.ndarray]:
    """``count`` uniform one-dimensional actions in [-1, 1]."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, size=1).astype(np.float32) for _ in range(count)]


# ---------------------------------------------------------------------------- reproduction
@pytest.mark.parametrize(("path", "env_id"), [(MOUNTAINCAR, "MountainCar-v0"), (CARTPOLE, "CartPole-v1")])
def test_discrete_examples_reproduce_their_env_at_the_defaults(path: Path, env_id: str) -> None:
    acts = discrete_actions(3 if "Mountain" in env_id else 2)
    theirs = rollout(gym.make(env_id), 7, acts)
    assert_same_rollout(play(spec_of(path), acts, seed=7), theirs)
    assert sum(s.truncated or s.terminated for s in theirs) >= 2  # episodes ended and restarted


def test_inverted_pendulum_reproduces_its_env_with_actions_scaled_to_its_range() -> None:
    acts = box_actions()
    theirs = rollout(gym.make("InvertedPendulum-v5"), 3, [np.float32(3.0) * a for a in acts])
    assert_same_rollout(play(spec_of(PENDULUM), acts, seed=3), theirs)
    assert sum(s.terminated for s in theirs) >= 2


# ---------------------------------------------------------------------------- parameters change the motion
@pytest.mark.parametrize(
    ("path", "changed"),
    [
        (MOUNTAINCAR, {"force": 0.0014}),
        (MOUNTAINCAR, {"gravity": 0.002}),
        (CARTPOLE, {"masspole": 0.8}),
        (CARTPOLE, {"length": 0.9}),
        (PENDULUM, {"pole_mass": 12.0}),
    ],
)
def test_a_changed_parameter_changes_the_trajectory_and_switching_back_restores_it(
    path: Path, changed: dict[str, float]
) -> None:
    spec = spec_of(path)
    space = spec.family_cls().action_space()
    acts = discrete_actions(int(space.n)) if isinstance(space, gym.spaces.Discrete) else box_actions()
    default = play(spec, acts)
    assert not same_trajectory(play(spec, acts, **changed), default)
    env = mtml_rl.make(spec.source, task=changed)
    rollout(env, 0, acts[:50])
    env.unwrapped.set_task({})  # back to the defaults on the same simulator
    assert_same_rollout(rollout(env, 0, acts), default)
    env.close()


def test_derived_attributes_are_recomputed_and_stale_without_the_block(tmp_path: Path) -> None:
    env = mtml_rl.make(CARTPOLE, task={"masspole": 0.8, "length": 0.9})
    env.reset(seed=0)
    sim = env.unwrapped.simulator
    assert (sim.masspole, sim.length) == (0.8, 0.9)
    assert (sim.total_mass, sim.polemass_length) == (0.8 + 1.0, 0.8 * 0.9)
    data = yaml.safe_load(CARTPOLE.read_text())
    del data["gymnasium"]["derived"]
    bare = tmp_path / "NoDerived.yaml"
    bare.write_text(yaml.safe_dump(data))
    stale = mtml_rl.make(bare, task={"masspole": 0.8, "length": 0.9})
    stale.reset(seed=0)
    assert (stale.unwrapped.simulator.total_mass, stale.unwrapped.simulator.polemass_length) == (1.1, 0.05)
    acts = discrete_actions(2)
    assert not same_trajectory(rollout(env, 0, acts), rollout(stale, 0, acts))


MUJOCO_FIELDS = {
    "gravity_scale": {"target": "model.opt.gravity", "scale": True, "bounds": [0.1, 3.0]},
    "hinge_damping": {"target": "model.dof_damping[hinge]", "bounds": [0.0, 10.0]},
    "pole_friction": {"target": "model.geom_friction[cpole, 0]", "bounds": [0.0, 5.0]},
    "mass_scale": {"target": "model.body_mass", "scale": True, "bounds": [0.2, 5.0]},
}


@pytest.fixture
def mujoco_fields_spec(tmp_path: Path) -> TaskSpec:
    """InvertedPendulum-v5 with a scaled vector, a joint's dof by name, a geom entry and a scaled array."""
    data = yaml.safe_load(PENDULUM.read_text())
    data["gymnasium"]["parameters"] = MUJOCO_FIELDS
    data["parameters"] = {
        "gravity_scale": {"train": [0.5, 2.0]},
        "hinge_damping": {"train": [0.5, 3.0]},
        "mass_scale": {"train": [0.5, 2.0]},
    }
    data["splits"] = {"train": 4}
    path = tmp_path / "PendulumFields.yaml"
    path.write_text(yaml.safe_dump(data))
    return mtml_rl.resolve_spec(path)


def test_mujoco_fields_by_value_and_by_scale_reach_the_model(mujoco_fields_spec: TaskSpec) -> None:
    spec = mujoco_fields_spec
    defaults = spec.family_cls.default_task().as_dict()
    assert defaults == {"gravity_scale": 1.0, "hinge_damping": 1.0, "pole_friction": 1.0, "mass_scale": 1.0}
    env = mtml_rl.make(spec.source, task={"gravity_scale": 2.0, "hinge_damping": 3.0, "mass_scale": 1.5})
    env.reset(seed=0)
    model = env.unwrapped.simulator.model
    nominal = gym.make("InvertedPendulum-v5").unwrapped.model
    np.testing.assert_array_equal(model.opt.gravity, nominal.opt.gravity * 2.0)
    assert model.dof_damping[1] == 3.0 and model.dof_damping[0] == nominal.dof_damping[0]
    np.testing.assert_array_equal(model.body_mass, nominal.body_mass * 1.5)
    # mj_setConst ran: the cart's subtree mass includes the heavier pole
    assert model.body_subtreemass[1] == pytest.approx(1.5 * (nominal.body_mass[1] + nominal.body_mass[2]))
    env.close()


@pytest.mark.parametrize("changed", [{"gravity_scale": 2.0}, {"hinge_damping": 3.0}, {"mass_scale": 1.5}])
def test_each_mujoco_field_changes_the_trajectory(
    mujoco_fields_spec: TaskSpec, changed: dict[str, float]
) -> None:
    acts = box_actions(count=150)
    default = play(mujoco_fields_spec, acts)
    theirs = rollout(gym.make("InvertedPendulum-v5"), 0, [np.float32(3.0) * a for a in acts])
    assert_same_rollout(default, theirs)
    assert not same_trajectory(play(mujoco_fields_spec, acts, **changed), default)


# ---------------------------------------------------------------------------- checkers and layouts
def both_checks(env: gym.Env[Any, Any]) -> None:
    """Gymnasium's and SB3's ``check_env`` on the unwrapped env, warnings as errors."""
    with warnings_as_errors():
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)


SPLITS = ["train", "test-interpolation", "test-extrapolation", "test"]
LAYOUTS = [("hidden", 0), ("visible", 0), ("privileged", 0), ("hidden", 4), ("privileged", 4)]


@pytest.mark.parametrize(("path", "split", "layout"), list(itertools.product(EXAMPLE_FILES, SPLITS, LAYOUTS)))
@pytest.mark.fast_subset(  # every file in every layout, on the train split or the union of the test splits
    {"split": "train", "layout": [("hidden", 0), ("privileged", 4)]},
    {"split": "test", "layout": [("visible", 0), ("privileged", 0), ("hidden", 4)]},
)
def test_check_env_in_every_split_and_context_mode(path: Path, split: str, layout: tuple[str, int]) -> None:
    context, history_len = layout
    with warnings_as_errors():
        env = mtml_rl.make(path, split=split, context=context, history_len=history_len)
    both_checks(env)
    obs, info = env.reset(seed=2)
    assert env.observation_space.contains(obs)
    assert info["task"] in {t.id for t in mtml_rl.build_splits(spec_of(path))[split].tasks}
    env.close()


def test_the_vector_env_one_hot_encodes_discrete_actions_in_the_history() -> None:
    spec = spec_of(MOUNTAINCAR)
    env = make_task_vector_env(spec, num_envs=3, history_len=2, trial_episodes=2, context="privileged")
    obs, _ = env.reset(seed=0)
    actions = np.array([0, 2, 1])
    obs, *_ = env.step(actions)
    row = obs["history"].reshape(3, 2, -1)[:, -1]  # (obs 2, one-hot 3, reward 1)
    np.testing.assert_array_equal(row[:, 2:5], np.eye(3)[actions])
    assert (row[:, -1] == -1.0).all()
    env.close()


def test_gym_make_vec_of_an_example_runs_one_simulator_per_env() -> None:
    envs = mtml_rl.make_vec(PENDULUM, num_envs=2)
    assert isinstance(envs, gym.vector.SyncVectorEnv)
    obs, info = envs.reset(seed=0)
    assert obs.shape == (2, 4) and len(set(info["task"])) == 2
    envs.step(np.zeros((2, 1), dtype=np.float32))
    envs.close()
