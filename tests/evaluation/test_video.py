"""``--video N`` records N episodes per run and split as MP4, parameters in the file name."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import pytest
from evaluation_helpers import small_eval

from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run


@pytest.mark.slow
def test_videos_are_written_with_the_task_in_their_name(runs: dict[str, Path], tmp_path: Path) -> None:
    results, out = evaluate(
        [runs["dr"]], small_eval(splits=("test-interpolation",), video=2), tmp_path / "ev"
    )
    task = build_splits(Run.load(runs["dr"]).spec)["test-interpolation"].tasks[0]
    assert len(results.videos) == 2
    for k, video in enumerate(results.videos):
        name = Path(video).name
        assert name.startswith("run0-dr-test-interpolation-cartpole_") and name.endswith(f"_ep{k}.mp4")
        assert f"length={task['length']:.4g}" in name and f"actuator_gain={task['actuator_gain']:.4g}" in name
        data = (out / video).read_bytes()
        assert data[4:8] == b"ftyp"
        frames = iio.imread(out / video)
        assert frames.ndim == 4 and frames.shape[0] > 1 and frames.shape[-1] == 3
    assert all(f"({v})" in (out / "report.md").read_text() for v in results.videos)
