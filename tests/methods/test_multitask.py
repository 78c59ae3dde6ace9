"""The multi-task methods (``onehot``, ``multihead``): they train through SB3's PPO and SAC on a
spec whose tasks differ in a categorical parameter, deploy with the task id and nothing else of
the task, and are refused, with one message, on a spec without a task id. On Meta-World's MT10
they train a few thousand steps and evaluate with success per environment in the report."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
import yaml
from categorical_toy import SPEC, ToySwitch

from mtml_rl.agents import load_agent
from mtml_rl.agents.taskid import TaskIdAgent
from mtml_rl.benchmark.evaluation import evaluate_trial
from mtml_rl.cli.main import main
from mtml_rl.envs.observation import task_id_index
from mtml_rl.errors import ConfigError
from mtml_rl.evaluation.evaluate import EvalConfig, evaluate
from mtml_rl.evaluation.results import load_results
from mtml_rl.families import registry
from mtml_rl.policies.multihead import MultiHeadExtractor
from mtml_rl.specs import build_splits
from mtml_rl.specs.spec import spec_dir
from mtml_rl.training import Run, TrainConfig, train

TINY_PPO: dict[str, Any] = {"n_steps": 32, "batch_size": 64, "n_epochs": 1}
TINY_SAC: dict[str, Any] = {
    "learning_starts": 100,
    "batch_size": 32,
    "buffer_size": 5000,
    "gradient_steps": 1,
}


@pytest.fixture
def toy_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy categorical family's spec (modes: left, right, up trained; down, stay held out)."""
    monkeypatch.setattr(registry, "_REGISTERED", {**registry._REGISTERED, "toy_switch": ToySwitch})
    path = tmp_path / "ToySwitch.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def _train(spec: Path | str, method: str, algo: str, out: Path, steps: int = 256, n_envs: int = 4) -> Run:
    hyper = dict(TINY_SAC if algo == "sac" else TINY_PPO)
    config = TrainConfig(
        env=str(spec), method=method, algo=algo, timesteps=steps, n_envs=n_envs, eval_freq=0, save_freq=0,
        num_threads=1, out=str(out), hyperparams=hyper,
    )  # fmt: skip
    return train(config, progress=False)


def test_a_method_that_needs_a_task_id_is_refused_on_a_spec_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="method onehot needs a task id, but the tasks of mtml/CartPole-v0"):
        train(TrainConfig(env="mtml/CartPole-v0", method="onehot", timesteps=64, out=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
    code = main(["train", "--env", "mtml/ML1_push-v3", "--method", "multihead", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "needs a task id" in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("algo", ["ppo", "sac"])
@pytest.mark.fast_subset({"algo": "ppo"})
def test_multihead_has_a_shared_trunk_and_one_head_per_task(
    toy_spec: Path, tmp_path: Path, algo: str
) -> None:
    run = _train(toy_spec, "multihead", algo, tmp_path / "r")
    policy = run.model.policy
    extractor = policy.actor.features_extractor if algo == "sac" else policy.features_extractor
    assert isinstance(extractor, MultiHeadExtractor)
    heads = policy.actor.mu if algo == "sac" else policy.action_net
    trunk_width = [m for m in extractor.trunk if isinstance(m, th.nn.Linear)][-1].out_features
    assert heads.in_features == 5 * trunk_width + 5  # five modes: a block of the trunk each
    obs = {"obs": th.zeros(2, 2), "context": th.zeros(2, 6)}
    obs["context"][0, 0] = obs["context"][1, 2] = 1.0  # modes left and up
    features = extractor(obs)
    assert th.count_nonzero(features[0, trunk_width : 5 * trunk_width]) == 0  # only left's block
    assert th.count_nonzero(features[1, : 2 * trunk_width]) == 0


@pytest.mark.parametrize("method", ["onehot", "multihead"])
def test_the_deployed_agent_reads_the_task_id_and_nothing_else(
    toy_spec: Path, tmp_path: Path, method: str
) -> None:
    run = _train(toy_spec, method, "ppo", tmp_path / "r")
    agent = load_agent(run)
    assert isinstance(agent, TaskIdAgent) and not agent.privileged
    assert agent.requirements.context == "privileged"
    ids = task_id_index(run.spec)
    assert ids == [0, 1, 2, 3, 4]  # the mode's one-hot; strength (entry 5) is not the task id
    rng = np.random.default_rng(0)
    obs = {"obs": rng.normal(size=(6, 2)).astype(np.float32), "context": np.zeros((6, 6), dtype=np.float32)}
    obs["context"][np.arange(6), [0, 1, 2, 3, 4, 0]] = 1.0
    base = agent.act(obs)
    for value in (-3.0, 0.5, 7.0):  # the strength entry changes nothing
        other = {**obs, "context": obs["context"].copy()}
        other["context"][:, 5] = value
        assert np.array_equal(agent.act(other), base)
    assert np.all(np.isfinite(base))


@pytest.mark.slow
def test_a_task_id_method_is_refused_on_held_out_values_and_plays_the_others(
    toy_spec: Path, tmp_path: Path
) -> None:
    run = _train(toy_spec, "onehot", "ppo", tmp_path / "r")
    splits = build_splits(run.spec)
    why = run.method.cannot_play(run.spec, splits["test-extrapolation"].tasks)
    assert "never trained on (mode down, stay)" in why
    assert run.method.cannot_play(run.spec, splits["test-interpolation"].tasks) == ""
    out = tmp_path / "e"
    with pytest.raises(ConfigError, match="cannot be evaluated on split test-extrapolation") as exc:
        evaluate([run.path], EvalConfig(episodes=1, bootstrap_reps=20), out=out)
    assert "pass --split train test-interpolation (or splits=" in str(exc.value)
    assert not out.exists()
    results, _ = evaluate(
        [run.path], EvalConfig(splits=("train", "test-interpolation"), episodes=1, bootstrap_reps=20), out=out
    )
    assert {e.split for e in results.episodes} == {"train", "test-interpolation"}
    assert "The multi-task methods (onehot) are given the task id" in (out / "report.md").read_text()
    settings = {"episodes": 1, "seed": 0, "deterministic": True, "splits": ["train", "test-extrapolation"]}
    benchmarked = load_results(evaluate_trial(run.path, tmp_path / "b", settings))
    assert benchmarked.protocol.splits == ["train"]  # the benchmark leaves held-out values out


# ------------------------------------------------------------------------------------ MT10
def _mt10_small(tmp_path: Path) -> Path:
    """MT10 with 2 of Meta-World's tasks per environment and 40-step episodes (cheap)."""
    data = yaml.safe_load((spec_dir() / "metaworld" / "MT10.yaml").read_text())
    data = copy.deepcopy(data) | {"name": "MT10small", "max_episode_steps": 40}
    data["splits"] = {"train": 20}
    path = tmp_path / "MT10small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_multi_task_methods_train_on_mt10_and_report_success_per_environment(tmp_path: Path) -> None:
    pytest.importorskip("metaworld", reason="the metaworld extra is not installed")
    spec = _mt10_small(tmp_path)
    pairs = [("onehot", "sac"), ("multihead", "ppo")]  # both algorithms on the toy spec above
    runs = [_train(spec, m, a, tmp_path / f"{m}-{a}", steps=2000, n_envs=10) for m, a in pairs]
    assert len(build_splits(runs[0].spec)["train"]) == 20
    results, folder = evaluate(
        [r.path for r in runs], EvalConfig(episodes=1, bootstrap_reps=50), out=tmp_path / "e"
    )
    groups = {a.group for a in results.success}
    assert len(groups) == 11 and "env=reach-v3" in groups  # all, and each of the ten environments
    assert results.headlines[runs[0].spec.id] == "success"
    report = (Path(folder) / "report.md").read_text()
    assert "| env | onehot | multihead |" in report
    assert report.count("| window-close-v3 |") == 1
    assert all(e.success is not None for e in results.episodes)
