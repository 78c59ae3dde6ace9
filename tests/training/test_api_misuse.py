"""The Python API refuses misuse in one message that names the fix, as the CLI does: a dict
for a config (an ``AttributeError``), a ``dr`` run given to ``AdaptAgent`` (called "the adapt
run" missing its module), a policy played on another spec's tasks (SB3's "Unexpected
observation shape"); and ``rollout_agent`` of no tasks returns no episodes (it refused
"num_envs must be a positive integer, got 0")."""

from __future__ import annotations

import pytest
from training_helpers import small_config

from mtml_rl.agents import AdaptAgent, load_agent
from mtml_rl.errors import ConfigError, TaskError
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.spec import resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train


@pytest.fixture(scope="module")
def dr_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("api") / "dr"
    return train(small_config(out, method="dr", timesteps=256), progress=False)


def test_train_given_a_dict_names_the_config_to_build() -> None:
    with pytest.raises(
        ConfigError, match=r"^train takes a TrainConfig, got dict; build one with TrainConfig"
    ):
        train({"env": "mtml/CartPole-v0"})  # type: ignore[arg-type]


def test_an_adapt_agent_of_a_run_without_a_module_says_which_method_it_is(dr_run: Run) -> None:
    with pytest.raises(ConfigError, match=r"is a dr run, which trains no adaptation module; .*load_agent"):
        AdaptAgent(dr_run)


def test_a_policy_played_on_another_specs_tasks_names_both_shapes(dr_run: Run) -> None:
    pendulum = resolve_spec("mtml/Pendulum-v0")
    tasks = list(build_splits(pendulum)["train"].tasks)[:2]
    with pytest.raises(
        TaskError, match=r"acts on observations shaped \(4,\) \(of mtml/CartPole-v0\), got \(3,\)"
    ):
        rollout_agent(load_agent(dr_run), pendulum, tasks, seed=0)


def test_no_tasks_are_no_episodes(dr_run: Run) -> None:
    assert rollout_agent(load_agent(dr_run), dr_run.spec, [], seed=0) == []


def test_the_run_itself_still_plays_its_own_tasks(dr_run: Run) -> None:
    tasks = list(build_splits(dr_run.spec)["train"].tasks)[:2]
    assert len(rollout_agent(load_agent(dr_run), dr_run.spec, tasks, seed=0)) == 2
