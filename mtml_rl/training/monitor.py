"""Episode bookkeeping and logging outputs for training runs."""

from __future__ import annotations

import csv
import os
from collections import deque
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch.utils.tensorboard import SummaryWriter

POST_TRAINING_RETURN = "post_training/return_mean"
"""The log column of a post-training step's own episodes on train tasks (``adapt``'s phase 2:
the DAgger rollouts, acting with ``ẑ``): learning curves draw it after the training return."""


class EpisodeReturns:
    """Returns of the episodes finished while collecting (running sums per slot).

    :param num_envs: slots
    """

    def __init__(self, num_envs: int) -> None:
        self.running = np.zeros(num_envs)
        self.finished: list[float] = []

    def add(self, rewards: np.ndarray, dones: np.ndarray) -> None:
        """Add a step's rewards; close the episodes that ended."""
        self.running += rewards
        self.finished += self.running[dones].tolist()
        self.running[dones] = 0.0

    def drain(self) -> float | None:
        """The mean return of the episodes finished since the last call (``None``: none)."""
        mean = float(np.mean(self.finished)) if self.finished else None
        self.finished = []
        return mean


class FinishedEpisode(NamedTuple):
    """An episode finished during training."""

    task_id: str
    ret: float
    length: int
    success: bool | None


class TaskEpisodeMonitor(VecMonitor):
    """``VecMonitor`` that also remembers the task of every finished episode.

    Callbacks drain :attr:`finished` instead of reading the training loop's locals.

    :param venv: the env to monitor (an :class:`~mtml_rl.envs.sb3.SB3VecEnv`)
    :param maxlen: finished episodes kept until drained
    """

    def __init__(self, venv: VecEnv, maxlen: int = 10_000) -> None:
        super().__init__(venv)
        self.finished: deque[FinishedEpisode] = deque(maxlen=maxlen)

    def step_wait(self) -> VecEnvStepReturn:
        """Step and record finished episodes with their task."""
        obs, rewards, dones, infos = super().step_wait()
        for i in np.flatnonzero(dones):
            info = infos[i]
            episode = info.get("episode")
            if episode is not None and "episode_task" in info:
                self.finished.append(
                    FinishedEpisode(
                        info["episode_task"], float(episode["r"]), int(episode["l"]), info.get("is_success")
                    )
                )
        return obs, rewards, dones, infos

    def drain(self) -> list[FinishedEpisode]:
        """Return and forget the episodes recorded so far."""
        out = list(self.finished)
        self.finished.clear()
        return out


class ResumableCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV writer, appending to an existing file (keeping its columns) on resume."""

    def __init__(self, filename: str, keep_until_step: int | None = None) -> None:
        path = Path(filename)
        if path.exists() and path.stat().st_size > 0:
            if keep_until_step is not None:
                _truncate_after(path, keep_until_step)
            self.file = open(path, "r+")
            header = self.file.readline().strip()
            self.keys = header.split(",") if header else []
            self.file.seek(0, os.SEEK_END)
        else:
            self.file = open(path, "w+")
            self.keys = []
        self.separator = ","
        self.quotechar = '"'


def _truncate_after(path: Path, step: int) -> None:
    """Drop rows logged after ``step`` (they belong to work lost since the checkpoint)."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "time/total_timesteps" not in rows[0]:
        return
    col = rows[0].index("time/total_timesteps")
    kept = [rows[0]] + [r for r in rows[1:] if not r[col] or float(r[col]) <= step]
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)


class ResumableTensorBoardOutputFormat(TensorBoardOutputFormat):
    """SB3's TensorBoard writer; on resume its new event file tells TensorBoard to drop the
    events logged after ``keep_until_step`` by the stopped process (``purge_step``), so that
    no step shows twice."""

    def __init__(self, folder: str, keep_until_step: int | None = None) -> None:
        if keep_until_step is None:
            super().__init__(folder)
            return
        self.writer = SummaryWriter(log_dir=folder, purge_step=keep_until_step + 1)
        self._is_closed = False


def silence_logger(model: Any) -> None:
    """Give an SB3 model a logger that writes nothing and nowhere.

    Without one, ``learn`` sets up SB3's default logger, which makes an empty ``SB3-<time>``
    folder in the system's temporary folder at every call (and writes nothing there at
    ``verbose=0``).
    """
    model.set_logger(Logger(folder=None, output_formats=[]))


def make_logger(log_dir: Path, keep_until_step: int | None = None) -> Logger:
    """A logger writing ``progress.csv`` and TensorBoard events under ``log_dir``.

    :param keep_until_step: on resume, the last step whose logged rows are kept
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    outputs: list[Any] = [
        ResumableCSVOutputFormat(str(log_dir / "progress.csv"), keep_until_step),
        ResumableTensorBoardOutputFormat(str(log_dir), keep_until_step),
    ]
    return Logger(str(log_dir), outputs)
