"""Bad input: one clear message, exit code 2 from the CLI, no traceback, the old run untouched."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from training_helpers import CARTPOLE, ConfigFactory, file_hashes, small_config

from mtml_rl.cli.main import main
from mtml_rl.errors import CheckpointError, ConfigError, MtmlError, UnknownNameError
from mtml_rl.training import Run, TrainConfig, resume, rundir, train

CHEAP_FLAGS = [
    "--timesteps", "256", "--n-envs", "4", "--eval-freq", "0", "--save-freq", "0", "--quiet",
    "--hyperparams", "n_steps:64", "batch_size:64", "n_epochs:1",
]  # fmt: skip


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI, expect exit code 2 and one error line without a traceback; return it."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("mtml-rl train: error: ")
    assert err.strip().count("\n") == 0, f"expected one line, got:\n{err}"
    return err


@pytest.fixture(scope="module")
def checkpointed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished small run with checkpoints at steps 512 and 1024 (copy it before changing it)."""
    out = tmp_path_factory.mktemp("checkpointed") / "run"
    train(small_config(out, timesteps=1024, save_freq=512), progress=False)
    return out


@pytest.fixture
def run_copy(checkpointed_run: Path, tmp_path: Path) -> Path:
    """A private copy of the checkpointed run."""
    target = tmp_path / "copy"
    shutil.copytree(checkpointed_run, target)
    return target


# -- unknown names --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--method", "oracel"], "did you mean 'oracle'"),
        (["--algo", "ppo2"], "did you mean 'ppo'"),
        (["--hyperparams", "learning_rat:0.001"], "did you mean 'learning_rate'"),
        (["--algo", "sac"], "does not support discrete action spaces"),
        (["--algo", "td3"], "use one of ppo, a2c"),
        (["--env", "mtml/CartPol-v0"], "CartPole-v0"),
        (["--history-arch", "lstm"], "gru"),
        (["--method", "finetune", "--finetune-hyperparams", "n_step:32"], "did you mean 'n_steps'"),
        (["--hyperparams", "policy_kwargs:dict(net_arch=[64])"], "policy_kwargs must be a mapping"),
    ],
    ids=[
        "method",
        "algo",
        "hyperparameter",
        "sac-discrete",
        "td3-discrete",
        "env",
        "history-arch",
        "finetune-hyperparameter",
        "policy-kwargs-as-python",
    ],
)
def test_cli_rejects_unknown_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], expected: str
) -> None:
    out = tmp_path / "run"
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(out), *CHEAP_FLAGS, *flags])
    assert expected in err
    assert not out.exists(), "a rejected config must not create its run directory"


@pytest.mark.parametrize(
    ("fields", "error", "expected"),
    [
        ({"method": "oracel"}, ConfigError, "did you mean 'oracle'"),
        ({"algo": "ppo2"}, UnknownNameError, "did you mean 'ppo'"),
        ({"hyperparams": {"learning_rat": 0.001}}, ConfigError, "did you mean 'learning_rate'"),
        ({"hyperparams": {"n_step": 64}}, ConfigError, "did you mean 'n_steps'"),
        ({"algo": "sac", "hyperparams": {}}, ConfigError, "does not support discrete"),
        ({"timesteps": 0}, ConfigError, "timesteps must be a positive integer"),
        ({"num_threads": 100_000}, ConfigError, "num_threads must be at most 1,024 torch threads"),
        (
            {"seed": 2**32},
            ConfigError,
            r"seed must be at most 4,294,967,295 \(2\*\*32 - 1\), got 4,294,967,296",
        ),
    ],
)
def test_api_rejects_bad_config(
    config: ConfigFactory, fields: dict[str, Any], error: type[MtmlError], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        train(config(**fields), progress=False)


def test_unknown_config_field_suggests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'timesteps'"):
        TrainConfig.from_dict({"timestep": 100})
    bad = tmp_path / "config.yaml"
    bad.write_text("method: oracle\nn_env: 4\n")
    with pytest.raises(ConfigError, match="did you mean 'n_envs'"):
        TrainConfig.from_yaml(bad)


# -- an output directory that already holds a run -------------------------------------------
@pytest.mark.slow
def test_existing_run_is_refused_and_kept(capsys: pytest.CaptureFixture[str], run_copy: Path) -> None:
    before = file_hashes(run_copy)
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(run_copy), *CHEAP_FLAGS])
    assert "already holds a run" in err and "--resume" in err and "--force" in err
    assert file_hashes(run_copy) == before
    with pytest.raises(ConfigError, match="already holds a run"):
        train(small_config(run_copy), progress=False)
    assert file_hashes(run_copy) == before


@pytest.mark.slow
def test_force_replaces_a_run(capsys: pytest.CaptureFixture[str], run_copy: Path) -> None:
    code = main(["train", "--env", CARTPOLE, "--out", str(run_copy), "--force", *CHEAP_FLAGS])
    assert code == 0, capsys.readouterr().err
    assert not (run_copy / "checkpoints").exists(), "the old run's checkpoints must be gone"
    assert Run.load(run_copy).model.num_timesteps == 256


def test_force_never_deletes_a_folder_that_holds_no_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--force --out mydata`` deleted ``mydata`` whole, a user's files with it."""
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious\n")
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(folder), "--force", *CHEAP_FLAGS])
    assert err == (
        f"mtml-rl train: error: output directory {folder} exists and is not empty, and --force replaces "
        "only a run; choose another --out\n"
    )
    assert [p.name for p in folder.iterdir()] == ["thesis.tex"]


@pytest.mark.slow
def test_force_never_deletes_what_the_run_did_not_write(
    capsys: pytest.CaptureFixture[str], run_copy: Path
) -> None:
    """An evaluation written into the run under a name of the user's (``evaluate RUN --out
    RUN/eval``, which is allowed) and a user's notes went with the replaced run; its default
    evaluation folders (``evaluate RUN``: ``RUN/evaluation``, ``RUN/evaluation-finetune``) and a
    killed save's temporary folder are the run's, and go with it."""
    (run_copy / "eval").mkdir()
    (run_copy / "eval" / "results.json").write_text("{}\n")
    (run_copy / "notes.txt").write_text("lr sweep\n")
    before = file_hashes(run_copy)
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(run_copy), "--force", *CHEAP_FLAGS])
    assert err == (
        f"mtml-rl train: error: {run_copy} holds a run and files it did not write (eval, notes.txt), which "
        "--force would delete with it; move them out of it, or choose another --out\n"
    )
    assert file_hashes(run_copy) == before
    shutil.rmtree(run_copy / "eval")
    (run_copy / "notes.txt").unlink()
    own = [".final.abc123", "evaluation", "evaluation-finetune"]  # .final.*: a killed atomic save
    for name in own:
        (run_copy / name).mkdir()
    assert main(["train", "--env", CARTPOLE, "--out", str(run_copy), "--force", *CHEAP_FLAGS]) == 0
    assert not any((run_copy / name).exists() for name in own)


@pytest.mark.slow
@pytest.mark.parametrize("inside", ["inner", "logs/inner"])
def test_a_run_inside_another_run_is_refused(
    capsys: pytest.CaptureFixture[str], run_copy: Path, inside: str
) -> None:
    """It was trained there: the outer run's ``--force`` would then delete it, and TensorBoard
    pointed at the outer run read both."""
    before = file_hashes(run_copy)
    out = run_copy / inside
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(out), *CHEAP_FLAGS])
    assert err == (
        f"mtml-rl train: error: {out} lies inside the run {run_copy.resolve()}, which would take a run "
        "with it when replaced or deleted; choose --out outside it\n"
    )
    assert file_hashes(run_copy) == before and not out.exists()


def test_a_project_config_file_alone_does_not_make_a_folder_a_run(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("lr: 1\n")  # a project of the user's, not a run
    assert rundir.enclosing_run(tmp_path / "runs" / "x") is None
    for name in rundir.RUN_MARKERS:
        (tmp_path / name).write_text("")
    assert rundir.enclosing_run(tmp_path / "runs" / "x") == tmp_path.resolve()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--method", "adapt"], "not --method;"),
        (["--hyperparams", "learning_rate:0.1", "--num-threads", "2"], "not --hyperparams, --num-threads;"),
        (["--config", "run.yaml"], "not --config;"),
    ],
)
def test_settings_given_with_resume_are_refused_not_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], named: str
) -> None:
    """``--resume RUN --hyperparams learning_rate:0.1`` went on with the run's own learning rate
    and said nothing."""
    run = tmp_path / "run"
    err = cli_error(capsys, ["train", "--resume", str(run), *flags, "--timesteps", "2048", "--quiet"])
    assert err.startswith(f"mtml-rl train: error: --resume continues {run} with its own settings")
    assert named in err
    err = cli_error(capsys, ["train", "--resume", str(run), "--force"])
    assert "give --resume or --force, not both" in err


def test_non_empty_folder_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("keep me\n")
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(out), *CHEAP_FLAGS])
    assert "not empty" in err
    assert (out / "todo.txt").read_text() == "keep me\n"


# -- resume of a run that cannot go on ------------------------------------------------------
@pytest.mark.slow
def test_resume_after_spec_change_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec_file: Callable[..., Path]
) -> None:
    path = spec_file()
    out = tmp_path / "run"
    train(small_config(out, env=str(path), timesteps=1024, save_freq=512), progress=False)

    def fewer_train_tasks(data: dict[str, Any]) -> None:
        data["splits"]["train"] = 48

    spec_file(fewer_train_tasks)
    before = file_hashes(out)
    err = cli_error(capsys, ["train", "--resume", str(out), "--timesteps", "2048", "--quiet"])
    assert "changed since this run was trained" in err
    with pytest.raises(CheckpointError, match="changed since this run was trained"):
        Run.load(out)
    assert file_hashes(out) == before


@pytest.mark.slow
def test_resume_without_checkpoint_is_refused(
    capsys: pytest.CaptureFixture[str], config: ConfigFactory
) -> None:
    run = train(config(timesteps=512, save_freq=0), progress=False)
    truncate(run.path / "final" / "model.zip")
    before = file_hashes(run.path)
    err = cli_error(capsys, ["train", "--resume", str(run.path), "--timesteps", "1024", "--quiet"])
    assert "no complete checkpoint" in err and "final: model.zip has" in err
    assert file_hashes(run.path) == before


def truncate(path: Path) -> None:
    """Cut a file to half its length, as a crash or a full disk would."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_resume_skips_damaged_folders_and_says_so(
    capsys: pytest.CaptureFixture[str], run_copy: Path, damage: str
) -> None:
    """The newest checkpoint and the final model do not verify: the resume goes on from the
    last good checkpoint, naming what it skipped and why."""
    for folder in ("checkpoints/step_1024", "final"):
        model = run_copy / folder / "model.zip"
        truncate(model) if damage == "truncate" else model.unlink()
    code = main(["train", "--resume", str(run_copy), "--timesteps", "1536", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    why = "model.zip has" if damage == "truncate" else "model.zip is missing"
    assert f"skipped {run_copy / 'checkpoints' / 'step_1024'}: {why}" in err
    assert f"skipped {run_copy / 'final'}: {why}" in err
    assert Run.load(run_copy).model.num_timesteps == 1536


def test_resume_of_a_folder_that_is_no_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = cli_error(capsys, ["train", "--resume", str(tmp_path / "nowhere"), "--quiet"])
    assert "not a run directory" in err


@pytest.mark.slow
def test_resume_of_a_finished_run_is_a_no_op(capsys: pytest.CaptureFixture[str], run_copy: Path) -> None:
    before = file_hashes(run_copy)
    assert main(["train", "--resume", str(run_copy), "--quiet"]) == 0
    assert "finished at step 1024; nothing to do" in capsys.readouterr().err
    assert file_hashes(run_copy) == before


@pytest.mark.slow
def test_resume_below_the_steps_done_is_refused(capsys: pytest.CaptureFixture[str], run_copy: Path) -> None:
    (run_copy / "final" / "manifest.json").unlink()  # unfinished: the final model does not verify
    before = file_hashes(run_copy)
    err = cli_error(capsys, ["train", "--resume", str(run_copy), "--timesteps", "512", "--quiet"])
    assert "at step 1024 already" in err
    assert file_hashes(run_copy) == before


@pytest.mark.slow
def test_resume_past_the_runs_own_budget_finishes_it(run_copy: Path) -> None:
    """The last rollout overshoots a budget that is not a multiple of its steps: a run of
    1000 steps stopped after saving its step-1024 checkpoint has nothing left to train."""
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    (run_copy / "config.yaml").write_text(yaml.safe_dump({**config, "timesteps": 1000}, sort_keys=False))
    (run_copy / "final" / "manifest.json").unlink()  # unfinished: the final model does not verify
    assert main(["train", "--resume", str(run_copy), "--quiet"]) == 0
    assert json.loads((run_copy / "run.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_resume_to_more_steps_leaves_a_garbled_hyperparameter_record_as_it_is(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The new budget goes into ``hyperparams.yaml`` only where that record reads; a garbled
    one (a grid trains such a run again rather than trust it) does not stop the resume."""
    garbled = b"n_envs: [8\n\x00"
    (run_copy / "hyperparams.yaml").write_bytes(garbled)
    assert main(["train", "--resume", str(run_copy), "--timesteps", "2048", "--quiet"]) == 0
    assert json.loads((run_copy / "run.json").read_text())["steps"] >= 2048
    assert (run_copy / "hyperparams.yaml").read_bytes() == garbled
    said = capsys.readouterr().err  # the resume cannot check what it trained with, and says so
    assert f"{run_copy / 'hyperparams.yaml'} does not read as a mapping: the hyperparameters" in said


@pytest.mark.slow
@pytest.mark.parametrize("which", ["final", "best"])
def test_load_of_missing_or_corrupt_model(run_copy: Path, which: str) -> None:
    if which == "best":  # the checkpointed run evaluates never, so it has no best model
        with pytest.raises(CheckpointError, match=r"has no model\.zip"):
            Run.load(run_copy, which=which)
        return
    truncate(run_copy / which / "model.zip")
    with pytest.raises(CheckpointError, match=r"model\.zip has .* \(damaged\); the last good checkpoint is"):
        Run.load(run_copy, which=which)


@pytest.mark.slow
def test_resume_api_errors(run_copy: Path) -> None:
    for folder in ("checkpoints/step_512", "checkpoints/step_1024", "final"):
        truncate(run_copy / folder / "model.zip")
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        resume(run_copy, timesteps=2048, progress=False)
