"""``mtml-rl evaluate --deploy-as``: a ``dr`` run evaluated as ``finetune`` without training
another run; its results say both how it was deployed and how it was trained."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mtml_rl.cli.main import main
from mtml_rl.evaluation.evaluate import default_output
from mtml_rl.evaluation.results import load_results

pytestmark = pytest.mark.slow


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_dr_run_evaluated_as_finetune(runs: dict[str, Path], tmp_path: Path) -> None:
    before = digests(runs["dr"] / "final")
    argv = ["evaluate", str(runs["dr"]), "--deploy-as", "finetune", "--deployment", "finetune_timesteps=512"]
    flags = ["--split", "test-interpolation", "--episodes", "2", "--bootstrap-reps", "10", "--no-figures"]
    assert main([*argv, *flags, "--quiet", "--out", str(tmp_path / "out")]) == 0
    results = load_results(tmp_path / "out" / "results.json")
    (run,) = results.runs
    assert (run.method, run.label, run.trained_as, Path(run.path)) == (
        "finetune",
        "finetune",
        "dr",
        runs["dr"],
    )
    assert [a.label for a in results.aggregates] == ["finetune"]
    assert any("finetune deploys 1 run(s) trained as dr" in note for note in results.notes)
    assert digests(runs["dr"] / "final") == before, "the run is read, never changed"


def test_one_run_deployed_otherwise_has_an_evaluation_folder_of_its_own(tmp_path: Path) -> None:
    assert default_output([tmp_path]) == tmp_path / "evaluation"
    assert default_output([tmp_path], deploy_as="finetune") == tmp_path / "evaluation-finetune"
