"""Verified artifacts and validation before anything is written.

Every saved model folder carries a manifest (size and SHA-256 of each file, written last);
loading verifies it and names the damaged file and the last good checkpoint. A run's
``config.yaml`` and ``meta.json`` are read strictly. Hyperparameters and the device are
checked by building the model before the run folder exists. Each case here reproduces a
failure found by hand: it was used silently, or ended in a traceback, before.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch as th
import yaml
from permission_helpers import unexpected_modes
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
from training_helpers import CARTPOLE, file_hashes, small_config

from mtml_rl.agents import load_agent
from mtml_rl.cli.main import main
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.io import file_sha256, manifest_problem, write_manifest
from mtml_rl.training import Run, resume, rundir, train
from mtml_rl.training.algorithms import get_algo

CHEAP = [
    "--timesteps", "256", "--n-envs", "4", "--eval-freq", "0", "--save-freq", "0", "--quiet",
]  # fmt: skip


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    return err


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished normalizing run with checkpoints at 512 and 1024 and a best model."""
    out = tmp_path_factory.mktemp("finished") / "run"
    hyperparams = {"n_steps": 64, "batch_size": 128, "n_epochs": 1, "normalize": True}
    config = small_config(out, timesteps=1024, save_freq=512, eval_freq=512, hyperparams=hyperparams)
    train(config, progress=False)
    return out


@pytest.fixture
def run(finished: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(finished, target)
    return target


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


# -- manifests --------------------------------------------------------------------------------
def test_every_saved_folder_has_a_manifest_that_verifies(finished: Path) -> None:
    for folder in ("final", "best", "checkpoints/step_512", "checkpoints/step_1024"):
        assert manifest_problem(finished / folder) is None, folder
        listed = json.loads((finished / folder / "manifest.json").read_text())["files"]
        assert set(listed) == {p.name for p in (finished / folder).iterdir()} - {"manifest.json"}
        assert listed["model.zip"]["sha256"] == file_sha256(finished / folder / "model.zip")


def test_every_file_and_folder_of_a_run_has_the_permissions_the_umask_gives(finished: Path) -> None:
    """Written atomically from private temporary files, they were readable by their owner
    alone (``config.yaml``, ``final/``...), SB3's ``model.zip`` beside them by everyone."""
    assert unexpected_modes(finished) == []


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("garble-normalizer", r"vecnormalize\.pkl does not match its SHA-256"),
        ("delete-normalizer", r"vecnormalize\.pkl is missing"),
        ("truncate-model", r"model\.zip has 100 bytes"),
        ("garble-meta", r"meta\.json has \d+ bytes"),
        ("foreign-normalizer", r"vecnormalize\.pkl (has|does not match)"),
        ("no-manifest", r"manifest\.json is missing"),
    ],
)
@pytest.mark.fast_subset({"damage": "garble-normalizer"})  # the other refusals of a trained run: make test
def test_a_damaged_final_model_is_refused_naming_the_file_and_the_last_good_checkpoint(
    run: Path, damage: str, expected: str
) -> None:
    final = run / "final"
    if damage == "garble-normalizer":
        garble(final / "vecnormalize.pkl")
    elif damage == "delete-normalizer":
        (final / "vecnormalize.pkl").unlink()
    elif damage == "truncate-model":
        with open(final / "model.zip", "r+b") as handle:
            handle.truncate(100)
    elif damage == "garble-meta":
        (final / "meta.json").write_text('{"steps": 12}\n')
    elif damage == "foreign-normalizer":  # another folder's statistics
        shutil.copy(run / "checkpoints" / "step_512" / "vecnormalize.pkl", final / "vecnormalize.pkl")
    else:
        (final / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match=expected) as caught:
        Run.load(run)
    assert f"the last good checkpoint is {run / 'checkpoints' / 'step_1024'} (step 1024)" in str(caught.value)


@pytest.mark.slow
def test_a_foreign_normalizer_whose_manifest_was_rewritten_is_still_refused(run: Path) -> None:
    """Statistics of other observations (another env's) are refused by shape, manifest or not."""
    foreign = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    foreign.save(str(run / "final" / "vecnormalize.pkl"))
    write_manifest(run / "final")
    with pytest.raises(CheckpointError, match="statistics of other observations"):
        Run.load(run)


@pytest.mark.slow
def test_a_garbled_adaptation_module_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "adapt"
    train(small_config(out, method="adapt", timesteps=256, n_envs=4), progress=False)
    garble(out / "final" / "adaptation.pt")
    with pytest.raises(CheckpointError, match=r"adaptation\.pt does not match its SHA-256"):
        load_agent(out)


@pytest.mark.slow
def test_a_garbled_checkpoint_meta_never_resumes_an_older_checkpoint_silently(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "final" / "manifest.json").unlink()
    garble(run / "checkpoints" / "step_1024" / "meta.json")
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {run / 'checkpoints' / 'step_1024'}: meta.json does not match" in err
    assert Run.load(run).model.num_timesteps == 1024


# -- config.yaml and meta.json strictly --------------------------------------------------------
def edit_config(run: Path, **fields: Any) -> None:
    data = yaml.safe_load((run / "config.yaml").read_text())
    data.update(fields)
    (run / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"method": "dr"}, r"config\.yaml changed since .*final was saved \(method is 'dr', was 'oracle'\)"),
        ({"history_len": 4}, r"history_len is 4, was 16"),
        ({"seed": 7}, r"config\.yaml changed since .*final was saved \(seed is 7, was 0\)"),
        ({"adapt_timesteps": "lots"}, r"adapt_timesteps must be a positive integer"),
        ({"device": 3}, r"device must be a non-empty string"),
        ({"colour": "red"}, r"has fields this mtml-rl \(.*\) does not know: colour; a field added by hand"),
    ],
)
def test_a_changed_or_ill_typed_config_is_refused(
    run: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], expected: str
) -> None:
    edit_config(run, **change)
    with pytest.raises((CheckpointError, ConfigError), match=expected):
        Run.load(run)
    before = file_hashes(run)
    err = cli_error(capsys, ["train", "--resume", str(run), "--timesteps", "2048", "--quiet"])
    assert err.startswith("mtml-rl train: error: ")
    assert file_hashes(run) == before


@pytest.mark.slow
def test_a_resume_refuses_a_config_that_resolves_to_other_hyperparameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``profile: fast`` written into a run trained with the shipped profile resolved to 32
    slots where the run's scheduler saved 8: the resume ended in an ``IndexError`` traceback."""
    run = tmp_path / "run"
    train(small_config(run, n_envs=None, timesteps=512, save_freq=512), progress=False)
    edit_config(run, profile="fast")
    before = file_hashes(run)
    err = cli_error(capsys, ["train", "--resume", str(run), "--timesteps", "1024", "--quiet"])
    assert f"{run} trained with other hyperparameters than its config.yaml resolves to now (" in err
    assert "n_envs 8 then, 32 now" in err and "restore config.yaml" in err
    assert file_hashes(run) == before


@pytest.mark.slow
def test_a_resume_refuses_hyperparameters_that_changed_since_the_run_trained(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shipped default that another mtml-rl resolved otherwise (the record says what the run
    trained with) stops the resume instead of going on with the new one."""
    record = yaml.safe_load((run / "hyperparams.yaml").read_text())
    (run / "hyperparams.yaml").write_text(yaml.safe_dump({**record, "gamma": 0.5}))
    before = file_hashes(run)
    err = cli_error(capsys, ["train", "--resume", str(run), "--timesteps", "2048", "--quiet"])
    assert f"(gamma 0.5 then, {record['gamma']!r} now)" in err and "versions.json" in err
    assert file_hashes(run) == before


@pytest.mark.slow
def test_checkpoints_saved_before_they_recorded_the_seed_load_and_resume(run: Path) -> None:
    for meta in run.rglob(rundir.META_FILE):
        data = json.loads(meta.read_text())
        assert data["config"].pop("seed") == 0
        meta.write_text(json.dumps(data))
        write_manifest(meta.parent)
    assert Run.load(run).config.seed == 0
    assert resume(run, timesteps=1536, progress=False).model.num_timesteps >= 1536


@pytest.mark.slow
def test_a_run_of_a_newer_version_says_which_to_load_it_with(run: Path) -> None:
    """A config field this version does not know, in a run whose ``versions.json`` names
    another mtml-rl: the message names that version instead of calling the run corrupt."""
    edit_config(run, latent_width=3)
    versions = json.loads((run / "versions.json").read_text())
    (run / "versions.json").write_text(json.dumps({**versions, "mtml-rl": "99.0.0"}))
    with pytest.raises(ConfigError, match=r"the run was made by mtml-rl 99\.0\.0: load it with that version"):
        Run.load(run)


@pytest.mark.slow
def test_a_truncated_config_never_falls_back_to_defaults(run: Path) -> None:
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text[: len(text) // 3].rsplit("\n", 1)[0] + "\n")
    with pytest.raises(ConfigError, match=r"lacks the fields .*restore the run's config\.yaml"):
        Run.load(run)
    with pytest.raises(ConfigError, match="lacks the fields"):
        resume(run, timesteps=2048, progress=False)


@pytest.mark.slow
def test_a_run_written_before_later_fields_existed_loads_with_their_defaults(
    run: Path,
) -> None:
    data = yaml.safe_load((run / "config.yaml").read_text())
    assert data.pop("profile") == "default"
    assert data.pop("adapt_probe_steps") == 0
    assert data.pop("finetune_hyperparams") == {}
    (run / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = Run.load(run).config
    assert (loaded.profile, loaded.adapt_probe_steps, loaded.finetune_hyperparams) == ("default", 0, {})
    del data["latent_dim"]  # a field runs have always written is still required
    (run / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match=r"lacks the fields latent_dim \(damaged or truncated\?\)"):
        Run.load(run)


@pytest.mark.slow
def test_a_garbled_best_record_never_lets_a_worse_model_replace_the_best(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "best" / "eval.json").write_text('{"steps": 512, "train_return_mean": "garbled"')
    before = file_hashes(run)
    err = cli_error(capsys, ["train", "--resume", str(run), "--timesteps", "2048", "--quiet"])
    assert "best" in err and "eval.json" in err and "delete it to let this run choose" in err
    assert file_hashes(run) == before


# -- resume of a finished run, of one stopped while writing final/, and leftovers --------------
@pytest.mark.slow
def test_resume_of_a_run_stopped_while_writing_final_finishes_it(run: Path) -> None:
    shutil.rmtree(run / "final")
    (run / ".final.abc123").mkdir()  # what atomic_dir leaves when killed
    (run / ".final.abc123" / "model.zip").write_bytes(b"PK half")
    (run / "checkpoints" / ".step_1536.x").mkdir()
    rundir.write_status(run, "running", 1024)
    done = resume(run, progress=False)  # no --timesteps: the run is at its budget
    assert done.model.num_timesteps == 1024
    assert json.loads((run / "run.json").read_text()) == {"status": "finished", "steps": 1024}
    assert manifest_problem(run / "final") is None
    assert not (run / ".final.abc123").exists() and not (run / "checkpoints" / ".step_1536.x").exists()


@pytest.mark.slow
def test_a_run_killed_while_replacing_its_best_model_gets_it_back(run: Path) -> None:
    """Killed between the two renames of a replacement: ``best/`` aside as ``.best.old``, the
    new one half-built under a temporary name. The resume puts the old ``best/`` back, byte for
    byte, instead of deleting both as leftovers."""
    before = file_hashes(run / "best")
    (run / "best").rename(run / ".best.old")
    (run / ".best.k3j2").mkdir()
    (run / ".best.k3j2" / "model.zip").write_bytes(b"PK half")
    notes: list[str] = []
    resume(run, progress=False, note=notes.append)
    assert f"put back {run / 'best'}, moved aside by a process that was stopped while replacing it" in notes
    assert file_hashes(run / "best") == before
    assert not (run / ".best.old").exists() and not (run / ".best.k3j2").exists()


@pytest.mark.slow
def test_resume_of_a_finished_run_goes_on_only_when_asked(run: Path) -> None:
    notes: list[str] = []
    before = file_hashes(run)
    resume(run, progress=False, note=notes.append)
    assert notes == [f"{run} finished at step 1024; nothing to do (pass --timesteps above it to go on)"]
    assert file_hashes(run) == before
    longer = resume(run, timesteps=1536, progress=False, note=notes.append)
    assert longer.model.num_timesteps == 1536
    assert yaml.safe_load((run / "config.yaml").read_text())["timesteps"] == 1536


# -- validation before anything is written ------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--hyperparams", "learning_rate:abc"], "hyperparameters"),
        (["--hyperparams", "learning_rate:-1"], "learning rate"),
        (["--hyperparams", "n_steps:0"], "n_steps"),
        (["--hyperparams", "policy_kwargs:{net_arch: 7, bogus: 1}"], "policy_kwargs"),
        (["--hyperparams", "batch_size:-5"], "batch_size must be a whole number of at least 1"),
        (["--device", "banana"], "not a torch device"),
        (["--device", "cuda:7"] if th.cuda.is_available() else ["--device", "cuda"], "cuda"),
    ],
    ids=["lr-abc", "lr-negative", "n-steps-0", "policy-kwargs", "batch-size", "device-banana", "device-cuda"],
)
def test_bad_hyperparameters_and_devices_are_refused_before_the_run_folder_exists(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], expected: str
) -> None:
    out = tmp_path / "sub" / "run"
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(out), *CHEAP, *flags])
    assert expected in err.lower() or expected in err
    assert not (tmp_path / "sub").exists(), "nothing is left behind"


def test_a_network_too_large_for_memory_is_out_of_memory_not_a_bad_hyperparameter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch's allocator raises ``RuntimeError``, which building the model reported as SB3's
    refusal of "these hyperparameters" (``--latent-dim 100000000``, say)."""

    def too_large(self: Any) -> None:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 25600000000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(get_algo("ppo").cls, "_setup_model", too_large)
    out = tmp_path / "sub" / "run"
    err = cli_error(capsys, ["train", "--env", CARTPOLE, "--out", str(out), *CHEAP])
    assert err.startswith(
        "mtml-rl train: error: out of memory (Unable to allocate 23.8 GiB for a torch tensor)"
    )
    assert not (tmp_path / "sub").exists()


def test_a_run_records_the_cpu_kernels_torch_computed_it_with(
    finished: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oneDNN picks its convolution kernels by instruction set: a conv-encoder run repeats
    # bit for bit on one machine, not between kernel widths, so the run says which it had
    versions = json.loads((finished / "versions.json").read_text())
    assert versions["torch_cpu_capability"] == th.backends.cpu.get_cpu_capability()
    assert versions["onednn_max_cpu_isa"] in {
        "default",
        *(v for v in map(os.environ.get, rundir.ONEDNN_ISA_VARIABLES) if v),
    }
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert rundir.cpu_kernels()["onednn_max_cpu_isa"] == "AVX2"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert rundir.cpu_kernels()["onednn_max_cpu_isa"] == "default"
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX2")  # oneDNN's older name for the same cap
    assert rundir.cpu_kernels()["onednn_max_cpu_isa"] == "AVX2"
