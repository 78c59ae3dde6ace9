"""A run folder stands on its own: its recorded spec is what it loads, evaluates and resumes
with, from any working directory, after the spec file moved or was deleted, and after an
edit that does not change the tasks."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from mtml_rl.cli.main import main
from mtml_rl.errors import CheckpointError
from mtml_rl.specs.spec import parse_spec, spec_dir
from mtml_rl.training import Run, TrainConfig, resume, train

TINY = {
    "method": "dr",
    "n_envs": 4,
    "timesteps": 128,
    "eval_freq": 0,
    "save_freq": 64,
    "num_threads": 1,
    "hyperparams": {"n_steps": 16, "batch_size": 64, "n_epochs": 1},
}


def write_spec(path: Path, **changes: object) -> Path:
    """A copy of the built-in CartPole spec, named ``MyCartPole``, with ``changes``."""
    data = yaml.safe_load((spec_dir() / "CartPole.yaml").read_text())
    data.update({"name": "MyCartPole", **changes})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def evaluate_cli(run: Path, out: Path) -> dict[str, object]:
    """``mtml-rl evaluate`` of ``run`` on two interpolation tasks' worth of episodes."""
    argv = ["evaluate", str(run), "--split", "test-interpolation", "--episodes", "1", "--out", str(out)]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text())


@pytest.fixture
def relative_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run trained from the relative spec path ``specs/my.yaml``, in ``tmp/work``."""
    work = tmp_path / "work"
    write_spec(work / "specs" / "my.yaml")
    monkeypatch.chdir(work)
    run = train(TrainConfig(env="specs/my.yaml", out="runs/r", **TINY))
    assert run.spec.name == "MyCartPole"
    return (work / "runs" / "r").resolve()


@pytest.mark.slow
def test_a_run_evaluates_and_resumes_from_another_directory(
    relative_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = Run.load(relative_run)
    assert loaded.spec.id == "mtml/MyCartPole-v0"
    results = evaluate_cli(relative_run, elsewhere / "eval")
    assert [r["spec"] for r in results["runs"]] == ["mtml/MyCartPole-v0"]
    resumed = resume(relative_run, timesteps=192, progress=False)
    assert resumed.model.num_timesteps >= 192


@pytest.mark.slow
def test_a_run_stands_after_its_spec_file_is_deleted(
    relative_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work" / "specs" / "my.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    assert Run.load(relative_run).spec.name == "MyCartPole"
    results = evaluate_cli(relative_run, tmp_path / "eval")
    assert results["runs"][0]["spec_hash"] == Run.load(relative_run).spec.content_hash()
    assert resume(relative_run, timesteps=192, progress=False).model.num_timesteps >= 192
    argv = ["evaluate", str(relative_run), "--episodes", "1", "--no-figures", "--out", str(tmp_path / "e2")]
    assert main(argv) == 0  # every split of the resumed run (evaluate_cli drew its pictures above)
    deployed = [
        "--deploy-as",
        "finetune",
        "--deployment",
        "finetune_timesteps=100",
        "--split",
        "test-interpolation",
    ]
    assert main([*argv[:4], *deployed, "--no-figures", "--out", str(tmp_path / "e3")]) == 0
    (run,) = json.loads((tmp_path / "e3" / "results.json").read_text())["runs"]
    assert run["test_task_steps"] == 128  # two rollouts of 16 steps x 4 slots, from the run's own spec


def test_a_description_edit_is_no_change_but_new_tasks_are(relative_run: Path, tmp_path: Path) -> None:
    spec_file = tmp_path / "work" / "specs" / "my.yaml"
    write_spec(spec_file, description="Edited after training: the tasks are the same.", version=0)
    assert Run.load(relative_run).spec.name == "MyCartPole"
    write_spec(spec_file, seed=2)
    with pytest.raises(CheckpointError, match="changed since this run was trained"):
        Run.load(relative_run)
    shutil.move(spec_file, tmp_path / "moved.yaml")  # moved away: the run's own copy rules
    assert Run.load(relative_run).spec.seed == 1


def test_the_config_records_the_spec_file_absolutely(relative_run: Path) -> None:
    config = yaml.safe_load((relative_run / "config.yaml").read_text())
    assert Path(config["env"]).is_absolute() and config["env"].endswith("specs/my.yaml")
    recorded = parse_spec(yaml.safe_load((relative_run / "spec.yaml").read_text()))
    assert recorded.content_hash() == json.loads((relative_run / "splits.json").read_text())["spec_hash"]


def test_the_spec_hash_covers_only_what_defines_the_tasks(tmp_path: Path) -> None:
    base = yaml.safe_load((spec_dir() / "CartPole.yaml").read_text())
    reference = parse_spec(base).content_hash()
    same = {"name": "Other", "version": 3, "description": "other words", "context": "visible"}
    for key, value in same.items():
        assert parse_spec({**base, key: value}).content_hash() == reference, key
    different = {
        "seed": 2,
        "max_episode_steps": 400,
        "splits": {**base["splits"], "train": 7},
        "fixed": {"cart_mass": 1.5},
        "privileged_context": False,
    }
    for key, value in different.items():
        assert parse_spec({**base, key: value}).content_hash() != reference, key


def test_garbled_records_of_a_run_are_refused_or_kept_as_they_are(tmp_path: Path) -> None:
    """A ``spec.yaml`` garbled into bytes that are not UTF-8 is refused in one message (the
    run cannot be trusted without it); a garbled ``command.txt``, a record only, is kept byte
    for byte and the resume's command line appended after it."""
    run_dir = tmp_path / "run"
    train(TrainConfig(env="mtml/CartPole-v0", out=str(run_dir), **TINY))
    garbage = bytes(range(128, 256))
    shutil.copy(run_dir / "spec.yaml", tmp_path / "spec.yaml")
    (run_dir / "spec.yaml").write_bytes(garbage)
    with pytest.raises(CheckpointError, match=r"spec.yaml is missing or corrupt .*this is not a whole run"):
        resume(run_dir, timesteps=192, progress=False)
    (run_dir / "spec.yaml").write_text("[" * 100_000)  # deep enough to exhaust the parser's recursion
    with pytest.raises(CheckpointError, match=r"spec.yaml is missing or corrupt .*this is not a whole run"):
        resume(run_dir, timesteps=192, progress=False)
    shutil.copy(tmp_path / "spec.yaml", run_dir / "spec.yaml")
    (run_dir / "command.txt").write_bytes(garbage)
    resume(run_dir, timesteps=192, progress=False, command="mtml-rl train --resume run")
    assert (run_dir / "command.txt").read_bytes() == garbage + b"mtml-rl train --resume run\n"


def test_the_recorded_command_reruns_as_it_was_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``command.txt`` quotes what needs quoting: a path with a space reads back as one argument."""
    out = tmp_path / "my run é"
    argv = ["train", "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", "64", "--n-envs", "4"]
    argv += ["--save-freq", "0", "--eval-freq", "0", "--quiet", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["mtml-rl", *argv])
    assert main(argv) == 0
    assert shlex.split((out / "command.txt").read_text().splitlines()[0]) == ["mtml-rl", *argv]


def test_force_through_a_link_to_a_run_replaces_the_run_it_names(tmp_path: Path) -> None:
    """``--force`` with ``--out`` a symbolic link to a run replaces that run and keeps the link
    (it was a traceback from ``shutil.rmtree``, which refuses links)."""
    train(TrainConfig(env="mtml/CartPole-v0", out=str(tmp_path / "run"), **TINY))
    (tmp_path / "latest").symlink_to(tmp_path / "run")
    before = (tmp_path / "run" / "command.txt").stat().st_mtime_ns
    run = train(TrainConfig(env="mtml/CartPole-v0", out=str(tmp_path / "latest"), **TINY), force=True)
    assert (tmp_path / "latest").is_symlink() and (tmp_path / "latest").resolve() == tmp_path / "run"
    assert (tmp_path / "run" / "command.txt").stat().st_mtime_ns != before
    assert Run.load(tmp_path / "latest").model.num_timesteps == run.model.num_timesteps
