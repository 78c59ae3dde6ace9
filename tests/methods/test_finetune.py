"""finetune end to end: trains like dr, adapts a clone per task, never touches the original."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch as th
from baseline_helpers import PENDULUM, tiny_config
from gymnasium import spaces
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm

from mtml_rl.agents.finetune import FinetuneAgent, clone_budget, rollout_steps
from mtml_rl.errors import ConfigError, MtmlWarning
from mtml_rl.evaluation.collect import play
from mtml_rl.methods.finetune import FINETUNE
from mtml_rl.policies import MetaExtractor
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train

SEED = 4


def file_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a saved model folder."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def params_of(model: BaseAlgorithm) -> dict[str, th.Tensor]:
    """A detached copy of every policy tensor."""
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def same_params(a: dict[str, th.Tensor], b: dict[str, th.Tensor]) -> bool:
    """Whether two parameter sets are bit-identical."""
    return a.keys() == b.keys() and all(th.equal(a[k], b[k]) for k in a)


def test_finetune_trains_like_dr(finetune_run: Run) -> None:
    assert isinstance(finetune_run.model.observation_space, spaces.Box), "context-blind"
    extractors = [m for m in finetune_run.model.policy.modules() if isinstance(m, MetaExtractor)]
    assert extractors and all(e.latent_input is None for e in extractors)
    assert finetune_run.config.finetune_timesteps == 256


def test_finetune_trains_as_dr_step_for_step(finetune_run: Run, tmp_path: Path) -> None:
    """What ``trains_as="dr"`` promises: a dr run of the same config is the same policy, bit
    for bit, so a benchmark grid may deploy dr's run as finetune instead of training a copy."""
    dr = train(tiny_config(tmp_path / "dr", "dr"), progress=False)
    assert same_params(params_of(dr.model), params_of(finetune_run.model))
    deployed = dr.deployed_as("finetune", finetune_timesteps=256)
    assert deployed.method.name == "finetune" and deployed.model is dr.model
    assert deployed.config.finetune_timesteps == 256 and dr.config.method == "dr"


def test_a_run_deploys_only_as_a_method_that_trains_as_its_own(finetune_run: Run) -> None:
    as_dr = finetune_run.deployed_as("dr")
    assert as_dr.method.name == "dr" and as_dr.deployed_as("finetune").method.name == "finetune"
    with pytest.raises(ConfigError, match=r"cannot be deployed as oracle.*whose training it holds \(dr\)"):
        finetune_run.deployed_as("oracle")
    with pytest.raises(ConfigError, match=r"seed act\(s\) in training"):
        finetune_run.deployed_as("finetune", seed=3)
    with pytest.raises(ConfigError, match=r"finetune_timestep: no such config field.*finetune_timesteps"):
        finetune_run.deployed_as("finetune", finetune_timestep=3)
    with pytest.raises(ConfigError, match="finetune_timesteps must be a positive integer"):
        as_dr.deployed_as("finetune", finetune_timesteps=0)


def test_the_clone_trains_with_the_finetune_hyperparams(finetune_run: Run) -> None:
    """Shorter rollouts for more updates in the budget; the saved run is not changed."""
    shorter = finetune_run.deployed_as("finetune", finetune_hyperparams={"n_steps": 16, "batch_size": 32})
    agent = FinetuneAgent(shorter)
    task = build_splits(shorter.spec)["test-interpolation"].tasks[0]
    agent.adapt(shorter.spec, task, seed=SEED)
    assert agent.current is not None
    clone = agent.current.model
    assert (clone.n_steps, clone.batch_size, clone.rollout_buffer.buffer_size) == (16, 32, 16)
    assert clone.num_timesteps >= 256 and finetune_run.model.n_steps != 16
    with pytest.raises(ConfigError, match="'n_step' is not a hyperparameter a ppo clone can change"):
        FinetuneAgent(finetune_run.deployed_as("finetune", finetune_hyperparams={"n_step": 16}))
    with pytest.raises(ConfigError, match="'policy_kwargs' is not a hyperparameter"):
        FinetuneAgent(finetune_run.deployed_as("finetune", finetune_hyperparams={"policy_kwargs": {}}))
    with pytest.raises(ConfigError, match="finetune_hyperparams must be a mapping"):
        finetune_run.deployed_as("finetune", finetune_hyperparams=[16])


@pytest.mark.parametrize(
    ("asked", "clone", "taken", "rollout"), [(200, {}, 256, 128), (200, {"n_steps": 20}, 240, 80)]
)
def test_the_budget_counts_the_steps_the_clone_takes(
    finetune_run: Run, asked: int, clone: dict[str, int], taken: int, rollout: int
) -> None:
    """SB3 trains in whole rollouts (here of ``n_steps`` x 4 slots): the budget table says the
    steps the clone takes, known before any training, and the clone takes that many."""
    run = finetune_run.deployed_as("finetune", finetune_timesteps=asked, finetune_hyperparams=clone)
    budget = clone_budget(run.config)
    assert (budget.asked, budget.rollout, budget.taken) == (asked, rollout, taken)
    assert FINETUNE.budget_note(run.config).startswith(
        f"+ {taken} steps on each test task ({asked} asked, in whole rollouts of {rollout}"
    )
    agent = FinetuneAgent(run)
    agent.adapt(run.spec, build_splits(run.spec)["test-interpolation"].tasks[0], seed=SEED)
    assert agent.current is not None
    assert agent.current.timesteps == agent.current.model.num_timesteps == taken
    exact = finetune_run.deployed_as("finetune", finetune_timesteps=256)
    assert FINETUNE.budget_note(exact.config) == "+ 256 steps on each test task"


def test_rollouts_of_off_policy_algorithms_count_their_training_frequency() -> None:
    assert rollout_steps(PPO, {}, 4) == 2048 * 4  # SB3's default n_steps
    assert rollout_steps(SAC, {}, 1) == 1 and rollout_steps(SAC, {"train_freq": 32}, 2) == 64
    assert rollout_steps(SAC, {"train_freq": [8, "step"]}, 1) == 8
    assert rollout_steps(SAC, {"train_freq": (2, "episode")}, 1) is None  # unknown ahead: as asked


def test_adapt_fine_tunes_a_clone_and_never_touches_the_original(finetune_run: Run) -> None:
    final = finetune_run.path / "final"
    files_before, params_before = file_digest(final), params_of(finetune_run.model)
    agent = FinetuneAgent(finetune_run)
    spec = finetune_run.spec
    for i, task in enumerate(build_splits(spec)["test-interpolation"].tasks[:2]):
        agent.adapt(spec, task, seed=SEED + i)
        assert agent.current is not None and agent.current.task == task
        clone = agent.current.model
        assert clone is not finetune_run.model and clone.num_timesteps >= 256
        assert not same_params(params_of(clone), params_before), "the clone was trained"
        played = rollout_agent(agent, spec, [task], trials=1, trial_episodes=2, seed=SEED)
        assert [(e.task, e.episode) for e in played] == [(task, 0), (task, 1)]
        assert all(np.isfinite(e.ret) for e in played)
    assert file_digest(final) == files_before, "the saved dr model changed"
    assert same_params(params_of(finetune_run.model), params_before), "the in-memory dr policy changed"


def test_adapt_is_seeded(finetune_run: Run) -> None:
    task = build_splits(finetune_run.spec)["test-extrapolation"].tasks[0]
    agents = [FinetuneAgent(finetune_run) for _ in range(2)]
    for agent in agents:
        agent.adapt(finetune_run.spec, task, seed=SEED)
    clones = [a.current.model for a in agents if a.current is not None]
    assert len(clones) == 2 and same_params(params_of(clones[0]), params_of(clones[1]))


def test_a_budget_of_one_rollout_warns(finetune_run: Run) -> None:
    agent = FinetuneAgent(finetune_run, timesteps=128)  # n_steps 32 x 4 slots
    task = build_splits(finetune_run.spec)["train"].tasks[0]
    with pytest.warns(MtmlWarning, match="one rollout"):
        agent.adapt(finetune_run.spec, task, seed=SEED)


def test_act_before_adapt_and_bad_budgets_are_errors(finetune_run: Run, rl2_run: Run) -> None:
    agent = FinetuneAgent(finetune_run)
    agent.reset(1)
    with pytest.raises(ConfigError, match="adapt"):
        agent.act(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ConfigError, match="positive"):
        FinetuneAgent(finetune_run, timesteps=0)
    with pytest.raises(ConfigError, match="finetune run"):
        FinetuneAgent(rl2_run)


@pytest.mark.slow
def test_an_off_policy_budget_below_learning_starts_warns(tmp_path: Path) -> None:
    sac = {"learning_starts": 64, "batch_size": 32, "buffer_size": 1000, "policy_kwargs": {"net_arch": [16]}}
    config = tiny_config(
        tmp_path / "run", "finetune", env=PENDULUM, algo="sac", hyperparams=sac, n_envs=1, timesteps=128
    )
    run = train(config, progress=False)
    task = build_splits(run.spec)["test-interpolation"].tasks[0]
    with pytest.warns(MtmlWarning, match="learning_starts 64"):
        FinetuneAgent(run, timesteps=64).adapt(run.spec, task, seed=SEED)
    agent = FinetuneAgent(run, timesteps=96)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="finetune timesteps")
        agent.adapt(run.spec, task, seed=SEED)
    assert agent.current is not None and agent.current.model.num_timesteps == 96
    assert clone_budget(run.deployed_as("finetune", finetune_timesteps=96).config).taken == 96


def test_a_clone_plays_its_trials_in_parallel_as_it_did_one_after_another(finetune_run: Run) -> None:
    """Each task's trials run in slots of their own; the episodes are those of one slot."""
    tasks = list(build_splits(finetune_run.spec)["test-extrapolation"].tasks[:2])
    kwargs = {"episodes": 3, "trial_episodes": 1, "seed": SEED}
    before = play(FinetuneAgent(finetune_run), finetune_run.spec, tasks, parallel=False, **kwargs)  # type: ignore[arg-type]
    batched = play(FinetuneAgent(finetune_run), finetune_run.spec, tasks, **kwargs)  # type: ignore[arg-type]
    assert [(p.task_index, p.index) for p in batched] == [(i, j) for i in range(2) for j in range(3)]
    assert batched == before


def test_rollout_agent_adapts_a_clone_to_each_task_with_its_seed_as_evaluation_does(
    finetune_run: Run,
) -> None:
    tasks = list(build_splits(finetune_run.spec)["test-interpolation"].tasks[:2])
    rolled = rollout_agent(FinetuneAgent(finetune_run), finetune_run.spec, tasks, trial_episodes=2, seed=SEED)
    played = play(
        FinetuneAgent(finetune_run), finetune_run.spec, tasks, episodes=2, trial_episodes=2, seed=SEED
    )
    assert [(e.task, e.episode) for e in rolled] == [(t, k) for t in tasks for k in range(2)]
    assert [e.ret for e in rolled] == [p.ret for p in played]
