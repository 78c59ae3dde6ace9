"""dr, adapt and rl2 train and evaluate on ML1 and ML10 as on the built-in families (a thousand
steps each, adapt 500 more, on reduced specs: Meta-World's tasks, fewer of them, 30-step
episodes)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from mw_helpers import require_metaworld

from mtml_rl.evaluation.evaluate import EvalConfig, evaluate
from mtml_rl.specs.spec import spec_dir
from mtml_rl.training import TrainConfig, train

require_metaworld()

SMALL = {
    "ML1_push": {"train": 10, "test-interpolation": 4, "test-extrapolation": 4},
    "ML10": {"train": 10, "test-extrapolation": 5},
}
"""Split sizes of the reduced specs (ML10: one of Meta-World's tasks per environment)."""


def _small(name: str, tmp_path: Path) -> Path:
    data = copy.deepcopy(yaml.safe_load((spec_dir() / "metaworld" / f"{name}.yaml").read_text()))
    data |= {"name": f"{name}_small", "max_episode_steps": 30, "splits": SMALL[name]}
    path = tmp_path / f"{name}_small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_dr_adapt_and_rl2_train_and_evaluate(name: str, tmp_path: Path) -> None:
    spec = _small(name, tmp_path)
    paths = []
    for method in ("dr", "adapt", "rl2"):
        config = TrainConfig(
            env=str(spec),
            method=method,
            timesteps=1000,
            n_envs=5,
            eval_freq=0,
            save_freq=0,
            num_threads=1,
            adapt_timesteps=500,
            adapt_iterations=1,
            adapt_epochs=1,
            hyperparams={"n_steps": 40, "batch_size": 100, "n_epochs": 2},
            out=str(tmp_path / method),
        )
        paths.append(train(config, progress=False).path)
    results, folder = evaluate(paths, EvalConfig(episodes=2, bootstrap_reps=20), out=tmp_path / "eval")
    assert {r.method for r in results.runs} == {"dr", "adapt", "rl2"}
    labels = {a.label for a in results.success if a.group == "all"}
    assert labels == {"dr", "adapt", "rl2"}
    report = (Path(folder) / "report.md").read_text()
    assert "Headline metric: the success rate" in report
    if name == "ML10":  # the held-out environments, one row each
        assert "| drawer-open-v3 |" in report and "| lever-pull-v3 |" in report
