"""A benchmark over a spec FILE (not a registered id) trains, evaluates and writes its report."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from benchmark_helpers import WITH_FIGURES, tiny_grid, trials_in_this_process

from mtml_rl.benchmark.runner import run_benchmark
from mtml_rl.errors import MtmlError
from mtml_rl.specs.spec import spec_dir


@pytest.mark.slow
def test_a_benchmark_over_a_spec_file_finishes_with_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)
    data = yaml.safe_load((spec_dir() / "CartPole.yaml").read_text())
    spec_file = tmp_path / "specs" / "pole.yaml"
    spec_file.parent.mkdir()
    spec_file.write_text(yaml.safe_dump({**data, "name": "FilePole"}))
    fields = {"envs": [str(spec_file)], "methods": ["dr"], "seeds": [0], "workers": 1}
    config = tiny_grid(tmp_path / "bench", **fields, evaluation=WITH_FIGURES)  # pictures of a spec file
    result = run_benchmark(config, progress=False)
    assert result.ok, [r.error for r in result.records]
    assert result.comparison is not None and result.comparison.report.is_file()
    assert {(r.spec, r.method) for r in result.comparison.rows} == {("FilePole", "dr")}
    assert "FilePole" in result.comparison.report.read_text()


def test_a_finished_trial_of_a_spec_whose_tasks_changed_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)
    data = yaml.safe_load((spec_dir() / "CartPole.yaml").read_text())
    spec_file = tmp_path / "pole.yaml"
    spec_file.write_text(yaml.safe_dump({**data, "name": "FilePole"}))
    config = tiny_grid(tmp_path / "bench", envs=[str(spec_file)], methods=["dr"], seeds=[0], workers=1)
    config.evaluation.enabled = False
    assert run_benchmark(config, progress=False).ok
    spec_file.write_text(yaml.safe_dump({**data, "name": "FilePole", "description": "new words"}))
    assert run_benchmark(config, progress=False).skipped == ["FilePole-dr-s0"]
    spec_file.write_text(yaml.safe_dump({**data, "name": "FilePole", "seed": 7}))
    with pytest.raises(MtmlError, match="holds a finished run of other tasks"):
        run_benchmark(config, progress=False)
