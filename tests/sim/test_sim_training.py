"""Training and evaluating on simulator-backed families, end to end.

``dr`` and ``adapt`` (and the ``oracle`` that normalizes the scores) train a couple of
thousand steps on HalfCheetahVel and HopperParams through :func:`mtml_rl.training.train`,
on :class:`~mtml_rl.envs.sim_vector.SimVectorEnv`; ``mtml-rl evaluate`` writes
``results.json``; a checkpointed run resumes; ``adapt`` deploys without reading the
context; ``history``, ``rl2`` and ``finetune`` train and act too. Budgets are tiny (one
torch thread, a fixed seed): these tests check the plumbing, not learning.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy

from mtml_rl.adaptation.module import acting_with
from mtml_rl.agents.finetune import FinetuneAgent
from mtml_rl.agents.loading import load_agent
from mtml_rl.agents.policy import AdaptAgent
from mtml_rl.cli.main import main as cli_main
from mtml_rl.envs import SimVectorEnv, make_task_vector_env
from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.video import check_rendering, play_frames, write_mp4
from mtml_rl.rollouts import rollout_agent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, TrainConfig, resume, train

CHEETAH = "mtml/HalfCheetahVel-v0"
HOPPER = "mtml/HopperParams-v0"
TINY_PPO = {"n_steps": 128, "batch_size": 128, "n_epochs": 1}
"""Four slots x 128 steps: four PPO updates in 2048 steps."""
TRAINED = [(CHEETAH, "dr"), (CHEETAH, "adapt"), (CHEETAH, "oracle"), (HOPPER, "dr"), (HOPPER, "adapt")]


def sim_config(out: Path, env: str, method: str, **fields: Any) -> TrainConfig:
    """A cheap seeded one-thread config: 2048 steps on 4 slots, phase 2 of 400 steps."""
    values: dict[str, Any] = {
        "env": env,
        "method": method,
        "timesteps": 2048,
        "n_envs": 4,
        "seed": 0,
        "eval_freq": 0,
        "save_freq": 0,
        "num_threads": 1,
        "out": str(out),
        "hyperparams": dict(TINY_PPO),
        "history_len": 8,
        "adapt_timesteps": 400,
        "adapt_iterations": 2,
        "adapt_epochs": 1,
    }
    values.update(fields)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    """The runs of :data:`TRAINED`, trained once (Hopper's ``dr`` checkpoints at 1024 steps)."""
    root = tmp_path_factory.mktemp("sim-runs")
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # MuJoCo's MUJOCO_LOG.TXT (see conftest.py), before the autouse chdir
        for env, method in TRAINED:
            save = 1024 if (env, method) == (HOPPER, "dr") else 0
            folder = root / f"{env.split('/')[1]}-{method}"
            out[env, method] = train(sim_config(folder, env, method, save_freq=save), progress=False)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("env", "method"), [k for k in TRAINED if k[1] != "oracle"])
def test_dr_and_adapt_train_and_deploy(runs: dict[tuple[str, str], Run], env: str, method: str) -> None:
    run = runs[env, method]
    assert run.model.num_timesteps == 2048
    assert (run.path / "final" / "model.zip").is_file()
    agent = load_agent(run.path)
    assert isinstance(agent, AdaptAgent) == (method == "adapt")
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks[:2])
    episodes = rollout_agent(agent, run.spec, tasks, trials=1, seed=0)
    assert len(episodes) == 2
    assert all(0 < e.length <= run.spec.max_episode_steps and np.isfinite(e.ret) for e in episodes)


@pytest.mark.slow
def test_evaluate_cli_normalizes_with_the_oracle_and_writes_results(
    runs: dict[tuple[str, str], Run], tmp_path: Path
) -> None:
    paths = [str(runs[CHEETAH, m].path) for m in ("dr", "adapt", "oracle")]
    out = tmp_path / "evaluation"
    args = ["evaluate", *paths, "--split", "test-extrapolation", "--episodes", "1"]
    assert cli_main([*args, "--bootstrap-reps", "50", "--quiet", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert {t["reference_source"] for t in results["tasks"]} == {"oracle"}
    assert {a["label"] for a in results["aggregates"]} >= {"dr", "adapt"}
    assert len(results["episodes"]) == 3 * len(results["tasks"])


@pytest.mark.slow
def test_evaluate_without_an_oracle_says_how_to_normalize(
    runs: dict[tuple[str, str], Run], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(runs[HOPPER, m].path) for m in ("dr", "adapt")]
    out = tmp_path / "evaluation"
    args = ["evaluate", *paths, "--split", "test-combinatorial", "--episodes", "1", "--bootstrap-reps", "50"]
    assert cli_main([*args, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["aggregates"] == [] and len(results["episodes"]) == 2 * len(results["tasks"])
    assert "evaluate an oracle run alongside" in capsys.readouterr().out


@pytest.mark.slow
def test_videos_play_through_the_simulator(
    runs: dict[tuple[str, str], Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    run = runs[CHEETAH, "adapt"]
    try:
        fps = check_rendering(run.spec)
    except ConfigError as exc:  # no EGL/OSMesa on this machine: the refusal is the feature
        assert "MUJOCO_GL" in str(exc)
        pytest.skip(f"MuJoCo cannot render here: {exc}")
    assert fps == 20  # HalfCheetah-v5: dt = 0.05 s
    spec = dataclasses.replace(run.spec, max_episode_steps=8)  # what evaluate --video plays, shorter
    task = build_splits(run.spec)["train"].tasks[0]
    agent = load_agent(run.path)
    videos = list(play_frames(agent, spec, task, episodes=1, trial_episodes=1, seed=0, deterministic=True))
    assert len(videos) == 1 and len(videos[0]) == 9
    assert all(frame.ndim == 3 and frame.dtype == np.uint8 for frame in videos[0])
    write_mp4(tmp_path / "video.mp4", videos[0], fps)
    assert (tmp_path / "video.mp4").stat().st_size > 0


@pytest.mark.slow
def test_a_checkpointed_sim_run_resumes(runs: dict[tuple[str, str], Run]) -> None:
    path = runs[HOPPER, "dr"].path
    resumed = resume(path, timesteps=2560, progress=False)
    assert resumed.model.num_timesteps == 2560


def _filled(obs: dict[str, np.ndarray], fill: str) -> dict[str, np.ndarray]:
    context = obs["context"]
    value = {"truth": context, "zeros": np.zeros_like(context), "nan": np.full_like(context, np.nan)}[fill]
    return {**obs, "context": value}


@pytest.mark.slow
def test_adapt_actions_ignore_the_context_slot(runs: dict[tuple[str, str], Run]) -> None:
    run = runs[CHEETAH, "adapt"]
    agent = load_agent(run.path)
    assert isinstance(agent, AdaptAgent) and agent.requirements.context == "hidden"
    policy = run.model.policy
    assert isinstance(policy, ActorCriticPolicy)
    tasks = list(build_splits(run.spec)["test-interpolation"].tasks[:4])
    venv = make_task_vector_env(
        run.spec, num_envs=len(tasks), tasks=tasks, context="privileged", history_len=run.config.history_len
    )
    assert isinstance(venv, SimVectorEnv)
    venv.action_space.seed(3)
    obs, _ = venv.reset(seed=3)
    for _ in range(20):
        outputs = []
        for fill in ("truth", "zeros", "nan"):
            normalized = run.normalizer.normalize_obs(_filled(obs, fill)) if run.normalizer else obs
            tensor, _ = policy.obs_to_tensor(normalized)
            with th.no_grad(), acting_with(policy, agent.module):
                mean = policy.get_distribution(tensor).distribution.mean.numpy()
                actions, _ = run.model.predict(normalized, deterministic=True)
            outputs.append((actions, mean))
        for actions, mean in outputs[1:]:
            np.testing.assert_array_equal(actions, outputs[0][0])
            np.testing.assert_array_equal(mean, outputs[0][1])
        assert not np.isnan(outputs[0][1]).any()
        hidden = {k: v for k, v in obs.items() if k != "context"}
        np.testing.assert_array_equal(agent.act(hidden), outputs[0][0])
        obs, *_ = venv.step(venv.action_space.sample())
    venv.close()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["history", "rl2", "finetune"])
def test_the_other_methods_train_and_act_on_a_simulator(method: str, tmp_path: Path) -> None:
    config = sim_config(tmp_path / method, HOPPER, method, timesteps=1024, finetune_timesteps=1024)
    run = train(config, progress=False)
    agent = load_agent(run.path)
    task = build_splits(run.spec)["test-interpolation"].tasks[0]
    if isinstance(agent, FinetuneAgent):
        agent.adapt(run.spec, task, seed=0)
        assert agent.current is not None and agent.current.model.num_timesteps == 1024
    trial = run.config.trial_episodes or 1
    episodes = rollout_agent(agent, run.spec, [task], trials=1, trial_episodes=trial, seed=0)
    assert len(episodes) == trial and all(np.isfinite(e.ret) for e in episodes)
