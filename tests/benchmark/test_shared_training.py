"""A grid with ``dr`` and ``finetune`` trains one run for both: ``finetune`` (which trains as
``dr``) deploys ``dr``'s run once it is trained, its evaluation is recorded as of that run, a
rerun skips both, a changed fine-tuning budget re-evaluates ``finetune`` alone, and a Ray
worker without the run on its disk unpacks it first."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from benchmark_helpers import file_state, tiny_grid

from mtml_rl.agents.finetune import clone_work
from mtml_rl.benchmark.backends import pack_folders, run_packed
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.evaluation import OTHER_RUN, evaluation_problem
from mtml_rl.benchmark.runner import BenchmarkResult, estimated_cost, run_benchmark
from mtml_rl.benchmark.trials import damage, plan_trials, run_trial
from mtml_rl.training import TrainConfig

pytestmark = pytest.mark.slow

FINETUNE_STEPS = 512
"""Fine-tuning steps per task: two rollouts of the tiny grid's 4 slots x 64 steps."""


def shared_grid(out: Path, **fields: object) -> BenchmarkConfig:
    """CartPole, ``dr`` and ``finetune``, seed 0."""
    values: dict[str, object] = {
        "methods": ["dr", "finetune"],
        "seeds": [0],
        "method_overrides": {"finetune": {"finetune_timesteps": FINETUNE_STEPS}},
        **fields,
    }
    return tiny_grid(out, **values)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> BenchmarkConfig:
    return shared_grid(tmp_path_factory.mktemp("shared") / "bench")


@pytest.fixture(scope="module")
def first(grid: BenchmarkConfig) -> BenchmarkResult:
    return run_benchmark(grid, progress=False)


def test_finetune_plans_to_deploy_the_dr_run(grid: BenchmarkConfig) -> None:
    dr, finetune = plan_trials(grid)
    assert (finetune.trained_by, finetune.run_dir, finetune.run_config) == (dr.name, dr.run_dir, dr.config)
    fields = {"finetune_timesteps": FINETUNE_STEPS, "finetune_hyperparams": {}}
    assert finetune.deployment == {"method": "finetune", "fields": fields}
    assert finetune.eval_dir == str(grid.out_dir / "eval" / "CartPole-finetune-s0")
    clones = 16 * clone_work(TrainConfig.from_dict(finetune.config))  # 16 interpolation tasks
    assert estimated_cost(finetune) == clones, "its clones' training only, not its run's"


def test_finetune_trains_its_own_run_where_no_dr_trial_trains_the_same(tmp_path: Path) -> None:
    (alone,) = plan_trials(shared_grid(tmp_path / "a", methods=["finetune"]))
    assert alone.trained_by is None and alone.run_dir.endswith("CartPole-finetune-s0")
    other = {"finetune": {"finetune_timesteps": FINETUNE_STEPS, "hyperparams": {"n_epochs": 2}}}
    _, trained_otherwise = plan_trials(shared_grid(tmp_path / "b", method_overrides=other))
    assert trained_otherwise.trained_by is None and trained_otherwise.run_dir.endswith("CartPole-finetune-s0")


def test_one_run_serves_both_methods(grid: BenchmarkConfig, first: BenchmarkResult) -> None:
    assert first.ok and sorted(first.ran) == ["CartPole-dr-s0", "CartPole-finetune-s0"]
    assert sorted(p.name for p in (grid.out_dir / "runs").iterdir()) == ["CartPole-dr-s0"]
    (run,) = json.loads((grid.out_dir / "eval" / "CartPole-finetune-s0" / "results.json").read_text())["runs"]
    assert (Path(run["path"]).name, run["method"], run["trained_as"]) == ("CartPole-dr-s0", "finetune", "dr")
    marker = json.loads((grid.out_dir / "eval" / "CartPole-finetune-s0" / "benchmark.json").read_text())
    assert marker["run"] == "CartPole-dr-s0" and marker["deployment"]["method"] == "finetune"
    assert first.comparison is not None
    assert sorted(r.method for r in first.comparison.rows) == ["dr", "finetune"]
    assert "finetune deploys 1 run(s) trained as dr" in first.comparison.report.read_text()
    manifest = json.loads((grid.out_dir / "trials.json").read_text())
    assert {t["name"]: Path(t["run_dir"]).name for t in manifest["trials"]} == {
        "CartPole-dr-s0": "CartPole-dr-s0",
        "CartPole-finetune-s0": "CartPole-dr-s0",
    }


def test_a_rerun_skips_both(grid: BenchmarkConfig, first: BenchmarkResult) -> None:
    runs, evaluations = file_state(grid.out_dir / "runs"), file_state(grid.out_dir / "eval")
    manifest = grid.out_dir / "trials.json"
    written_before = json.loads(manifest.read_text())  # as a folder of an older version has it
    for record in written_before["trials"]:
        record["run_dir"] = record["run_dir"].replace("-dr-", f"-{record['method']}-")
    manifest.write_text(json.dumps(written_before))
    again = run_benchmark(grid, progress=False)
    assert again.ok and again.ran == [] and sorted(again.skipped) == sorted(first.ran)
    assert (file_state(grid.out_dir / "runs"), file_state(grid.out_dir / "eval")) == (runs, evaluations)
    records = json.loads(manifest.read_text())["trials"]
    assert {Path(r["run_dir"]).name for r in records} == {"CartPole-dr-s0"}, "the run folder it uses now"


def test_another_fine_tuning_budget_evaluates_finetune_again_and_trains_nothing(
    grid: BenchmarkConfig, first: BenchmarkResult
) -> None:
    runs = file_state(grid.out_dir / "runs")
    longer = BenchmarkConfig.from_dict(
        {**grid.to_dict(), "method_overrides": {"finetune": {"finetune_timesteps": 2 * FINETUNE_STEPS}}}
    )
    (_, finetune) = plan_trials(longer)
    problem = evaluation_problem(Path(finetune.eval_dir), finetune.evaluation or {}, finetune.evaluated)
    assert problem == OTHER_RUN and damage(finetune) is None, "outdated, not damaged"
    again = run_benchmark(longer, progress=False)
    assert again.ok and again.ran == ["CartPole-finetune-s0"] and again.skipped == ["CartPole-dr-s0"]
    assert file_state(grid.out_dir / "runs") == runs
    marker = json.loads((Path(finetune.eval_dir) / "benchmark.json").read_text())
    assert marker["deployment"]["fields"] == {
        "finetune_timesteps": 2 * FINETUNE_STEPS,
        "finetune_hyperparams": {},
    }


def test_an_evaluation_is_of_its_run_as_trained_then(
    grid: BenchmarkConfig, first: BenchmarkResult, tmp_path: Path
) -> None:
    dr, finetune = plan_trials(grid)
    for trial in (dr, finetune):
        old = tmp_path / Path(trial.eval_dir).name
        shutil.copytree(trial.eval_dir, old)
        marker = json.loads((old / "benchmark.json").read_text())
        (old / "benchmark.json").write_text(json.dumps({"settings": marker["settings"]}))
        assert trial.evaluation is not None
        problem = evaluation_problem(old, trial.evaluation, trial.evaluated)
        assert problem == (None if trial is dr else OTHER_RUN)
        retrained = {**trial.evaluated, "final": "0" * 64}  # the run's folder holds another run now
        assert evaluation_problem(Path(trial.eval_dir), trial.evaluation, retrained) == OTHER_RUN


def test_a_ray_worker_without_the_run_unpacks_it_before_deploying_it(
    grid: BenchmarkConfig, first: BenchmarkResult, tmp_path: Path
) -> None:
    """As on a worker that shares no disk with the driver: the run arrives packed, and only the
    evaluation goes back."""
    dr, finetune = plan_trials(grid)
    archive = pack_folders((dr.run_dir,))
    run_files = {k: digest for k, (digest, _) in file_state(Path(dr.run_dir) / "final").items()}
    shutil.move(dr.run_dir, tmp_path / "driver-copy")
    shutil.rmtree(finetune.eval_dir)
    packed = run_packed(finetune, run_trial, (), archive)
    assert packed.outcome.status == "finished", packed.outcome.error
    assert {k: digest for k, (digest, _) in file_state(Path(dr.run_dir) / "final").items()} == run_files
    assert (Path(finetune.eval_dir) / "results.json").is_file()
    with tarfile.open(fileobj=io.BytesIO(packed.archive)) as tar:
        assert {m.name.split("/")[1] for m in tar.getmembers()} == {"CartPole-finetune-s0"}


def test_without_its_run_a_deploying_trial_fails_with_what_to_do(tmp_path: Path) -> None:
    _, finetune = plan_trials(shared_grid(tmp_path / "bench"))
    outcome = run_trial(finetune)
    assert outcome.status == "failed" and outcome.refused
    assert outcome.error is not None and "its trial CartPole-dr-s0 trains it" in outcome.error
