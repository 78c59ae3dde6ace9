"""``mtml-rl evaluate --deploy-as``: a ``dr`` run evaluated as ``finetune`` without training
another run; its results say both how it was deployed and how it was trained."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

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
    assert run.deployment == {"finetune_timesteps": 512, "finetune_hyperparams": {}}
    assert run.test_task_steps == 512  # two rollouts of 64 steps x 4 slots
    runs_table = (tmp_path / "out" / "report.md").read_text()
    assert f"| {run.steps} + 512 on each test task | 1 |" in runs_table
    assert digests(runs["dr"] / "final") == before, "the run is read, never changed"


def test_two_deployments_of_one_run_are_two_runs_and_the_report_says_they_differ(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Before results recorded deployments, ``compare`` kept the first of two evaluations of
    one run as ``finetune`` and silently dropped the other."""
    flags = [
        "--split",
        "test-interpolation",
        "--episodes",
        "2",
        "--bootstrap-reps",
        "10",
        "--no-figures",
        "--quiet",
    ]
    for budget in (512, 600):
        argv = [
            "evaluate",
            str(runs["dr"]),
            "--deploy-as",
            "finetune",
            "--deployment",
            f"finetune_timesteps={budget}",
        ]
        assert main([*argv, *flags, "--out", str(tmp_path / str(budget))]) == 0
    both = [str(tmp_path / "512"), str(tmp_path / "600"), str(runs["dr"])]
    assert main(["compare", *both, *flags, "--out", str(tmp_path / "cmp")]) == 0
    results = load_results(tmp_path / "cmp" / "results.json")
    deployed = {(r.method, r.test_task_steps, r.trained_as) for r in results.runs}
    assert deployed == {("finetune", 512, "dr"), ("finetune", 768, "dr"), ("dr", None, None)}
    assert [r.deployment for r in results.runs if r.method == "dr"] == [None]
    (mixed,) = [note for note in results.notes if "deployed with different settings" in note]
    assert mixed == (
        "mtml/CartPole-v0: finetune's runs were deployed with different settings (finetune_hyperparams "
        "{}, finetune_timesteps 512; finetune_hyperparams {}, finetune_timesteps 600); its rows "
        "aggregate them; compare one setting per report to read each"
    )
    assert main(["compare", both[0], both[0], *flags, "--out", str(tmp_path / "same")]) == 0
    assert len(load_results(tmp_path / "same" / "results.json").runs) == 1  # one deployment, twice
    older = json.loads((tmp_path / "512" / "results.json").read_text())  # as written before 1.5
    older.update(
        schema_version="1.4", runs=[without(run, "deployment", "test_task_steps") for run in older["runs"]]
    )
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / "results.json").write_text(json.dumps(older))
    assert main(["compare", str(tmp_path / "older"), both[0], *flags, "--out", str(tmp_path / "mixed")]) == 0
    results = load_results(tmp_path / "mixed" / "results.json")
    assert [r.deployment for r in results.runs] == [
        None,
        {"finetune_hyperparams": {}, "finetune_timesteps": 512},
    ]
    assert any(
        "(finetune_hyperparams {}, finetune_timesteps 512; settings not recorded" in n for n in results.notes
    )


def without(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in keys}


def test_one_run_deployed_otherwise_has_an_evaluation_folder_of_its_own(tmp_path: Path) -> None:
    assert default_output([tmp_path]) == tmp_path / "evaluation"
    assert default_output([tmp_path], deploy_as="finetune") == tmp_path / "evaluation-finetune"
