"""``--video N`` records N episodes per run and split as MP4, parameters in the file name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import pytest
from evaluation_helpers import small_eval

from mtml_rl.envs.factory import make_task_env
from mtml_rl.evaluation.evaluate import evaluate
from mtml_rl.evaluation.probes import RandomAgent
from mtml_rl.evaluation.video import play_frames
from mtml_rl.specs.spec import resolve_spec
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


class CountingAgent(RandomAgent):
    """A random agent that counts its actions."""

    def __init__(self, action_space: Any) -> None:
        super().__init__(action_space, seed=0)
        self.actions = 0

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        self.actions += 1
        return super().act(obs, deterministic)


def test_episodes_are_played_one_at_a_time() -> None:
    """``--video N`` held the frames of all N episodes before writing any (CartPole: 360 MB an
    episode); each episode is now played when the one before it is written."""
    spec = resolve_spec("mtml/CartPole-v0")
    task = build_splits(spec)["train"].tasks[0]
    agent = CountingAgent(make_task_env(spec, task=task).action_space)
    episodes = play_frames(agent, spec, task, episodes=3, trial_episodes=1, seed=0, deterministic=True)
    first = next(episodes)
    assert agent.actions == len(first) - 1  # one frame before the first action
    rest = list(episodes)
    assert len(rest) == 2 and agent.actions == sum(len(frames) - 1 for frames in [first, *rest])
