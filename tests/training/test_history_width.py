"""The history encoder's width, ``history_hidden``: a run at another width trains, saves and
loads with it (the ``history`` method's encoders and ``adapt``'s module alike), and a run
written before the field existed loads, evaluates and resumes at the width it trained with."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import yaml
from torch import nn
from training_helpers import small_config

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule
from mtml_rl.io import write_manifest
from mtml_rl.policies.extractor import MetaExtractor
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, resume, train
from mtml_rl.training.rundir import META_FILE

pytestmark = pytest.mark.slow  # tiny runs: a few CPU-seconds each


def channels(*modules: nn.Module) -> set[int]:
    """The output channels of every convolution in ``modules``."""
    return {layer.out_channels for m in modules for layer in m.modules() if isinstance(layer, nn.Conv1d)}


def module_of(run: Run) -> list[nn.Module]:
    """``adapt``'s saved module, if the run has one."""
    file = run.path / "final" / MODULE_FILE
    return [AdaptationModule.load(file)] if file.exists() else []


@pytest.mark.parametrize("method", ["history", "adapt"])
def test_a_run_at_another_width_trains_saves_and_loads_with_it(method: str, tmp_path: Path) -> None:
    run = train(small_config(tmp_path / "run", method=method, history_hidden=16), progress=False)
    assert channels(run.model.policy, *module_of(run)) == {16}
    loaded = Run.load(tmp_path / "run")
    assert loaded.config.history_hidden == 16
    assert channels(loaded.model.policy, *module_of(loaded)) == {16}


def test_models_saved_without_the_width_are_built_at_64() -> None:
    """A model saved before ``history_hidden`` was passed to the extractor records no width in
    its ``policy_kwargs``; SB3 rebuilds it with the extractor's default, which must stay 64."""
    assert inspect.signature(MetaExtractor).parameters["history_hidden"].default == 64


def _as_written_before_the_field(path: Path) -> None:
    """Drop ``history_hidden`` from the run's config and its checkpoints' records (each folder's
    manifest rewritten, as such a run's were written)."""
    config = yaml.safe_load((path / "config.yaml").read_text())
    del config["history_hidden"]
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for meta in path.rglob(META_FILE):
        data = json.loads(meta.read_text())
        del data["config"]["history_hidden"]
        meta.write_text(json.dumps(data))
        write_manifest(meta.parent)


def test_a_run_written_before_the_width_existed_loads_evaluates_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "run"
    train(small_config(path, method="history", save_freq=512), progress=False)
    _as_written_before_the_field(path)
    loaded = Run.load(path)
    assert loaded.config.history_hidden == 64 and channels(loaded.model.policy) == {64}
    tasks = list(build_splits(loaded.spec)["train"].tasks)[:2]
    assert len(loaded.evaluate("train", tasks=tasks)) == 2
    resumed = resume(path, timesteps=1536, progress=False)
    assert resumed.model.num_timesteps >= 1536 and channels(resumed.model.policy) == {64}
