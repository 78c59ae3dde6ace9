"""Episode bookkeeping and logging outputs for training runs."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections import deque
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch.utils.tensorboard import SummaryWriter

from mtml_rl.errors import MtmlError
from mtml_rl.io import InputFileError, atomic_write_text, read_text_file, set_aside_damaged

STEPS_COLUMN = "time/total_timesteps"
"""The log column of the environment steps done when a row was logged."""
MAX_LOG_BYTES = 256 * 2**20
"""The largest ``progress.csv`` read (a million-step run logs well under a megabyte)."""
DAMAGED_LOG = "progress.damaged.csv"
"""The name a damaged ``progress.csv`` is kept under when a resume starts the log again."""

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


class DamagedLogError(MtmlError, ValueError):
    """A run's ``progress.csv`` cannot be read as the log training writes.

    :param path: the log
    :param problem: what is wrong, as a predicate of the file (``is not a CSV log: ...``)
    """

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem


def read_log_rows(path: Path) -> list[list[str]]:
    """The rows of a ``progress.csv`` (header first), read strictly: UTF-8 CSV text whose header
    has :data:`STEPS_COLUMN`, no row longer than the header, and a number or nothing in every
    row's step cell; anything else is a :class:`DamagedLogError`. An empty file has no rows."""
    try:
        text = read_text_file(path, max_bytes=MAX_LOG_BYTES)
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except (InputFileError, csv.Error) as exc:
        problem = str(exc).split(";")[0]  # the reader's advice (save it as UTF-8) is not ours
        unreadable = problem.startswith("cannot be read")  # the file system's refusal, not its text
        raise DamagedLogError(path, problem if unreadable else f"is not a CSV log: it {problem}") from None
    if not rows:
        return rows
    if STEPS_COLUMN not in rows[0]:
        raise DamagedLogError(path, f"has no {STEPS_COLUMN} column in its header")
    col = rows[0].index(STEPS_COLUMN)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(rows[0]) or not _step_cell(row[col] if col < len(row) else ""):
            raise DamagedLogError(path, f"is damaged: its row {number} is not a row of the log")
    return rows


def _step_cell(cell: str) -> bool:
    """Whether a step cell holds a finite number or nothing."""
    try:
        return cell == "" or math.isfinite(float(cell))
    except ValueError:
        return False


def set_aside_damaged_log(log_dir: Path) -> tuple[Path, str] | None:
    """Rename a damaged ``progress.csv`` of ``log_dir`` to :data:`DAMAGED_LOG` (numbered if taken:
    :func:`~mtml_rl.io.set_aside_damaged`), so that a resume logs afresh without losing it;
    ``(where it is kept, what is wrong)``, or ``None`` when the log reads (or there is none)."""
    log = log_dir / "progress.csv"
    if not log.is_file():
        return None
    try:
        read_log_rows(log)
    except DamagedLogError as exc:
        return set_aside_damaged(log), exc.problem
    return None


class ResumableCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV writer, appending to an existing file (keeping its columns) on resume."""

    def __init__(self, filename: str, keep_until_step: int | None = None) -> None:
        path = Path(filename)
        if path.exists() and path.stat().st_size > 0:
            if keep_until_step is not None:
                _truncate_after(path, keep_until_step)
            self.file = open(path, "r+", encoding="utf-8")
            header = self.file.readline().strip()
            self.keys = header.split(",") if header else []
            self.file.seek(0, os.SEEK_END)
        else:
            self.file = open(path, "w+", encoding="utf-8")
            self.keys = []
        self.separator = ","
        self.quotechar = '"'


def _truncate_after(path: Path, step: int) -> None:
    """Drop rows logged after ``step`` (they belong to work lost since the checkpoint); the
    log was checked before (:func:`set_aside_damaged_log`)."""
    rows = read_log_rows(path)
    if not rows:
        return
    col = rows[0].index(STEPS_COLUMN)
    kept = [rows[0]] + [r for r in rows[1:] if col >= len(r) or not r[col] or float(r[col]) <= step]
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\n").writerows(kept)
    atomic_write_text(path, text.getvalue())  # a crash here leaves the whole old log


EVENT_FILE_PREFIX = "events.out.tfevents."
"""TensorBoard's event file names: the prefix, then the second the file was made, the host,
the process id and the writer's number in its process."""
MAX_EVENT_WAIT_S = 2.0
"""The longest a resume waits for the clock to pass the newest event file's second."""


def wait_past_event_files(folder: Path, max_wait_s: float = MAX_EVENT_WAIT_S) -> None:
    """Wait until the clock's second is past that of every event file in ``folder`` (at most
    ``max_wait_s``; not at all in the usual case). TensorBoard reads a folder's event files in
    name order and applies a file's purge to the events read before it; a file made in the
    same second as an older one sorts by process id and writer number as text ("10" before
    "9"), so a resume within that second could have its purge read first and applied to
    nothing."""
    seconds = [
        int(stamp)
        for p in folder.glob(EVENT_FILE_PREFIX + "*")
        if (stamp := p.name[len(EVENT_FILE_PREFIX) :].split(".")[0]).isdigit()
    ]
    deadline = time.monotonic() + max_wait_s
    while seconds and int(time.time()) <= max(seconds) and time.monotonic() < deadline:
        time.sleep(0.05)


class ResumableTensorBoardOutputFormat(TensorBoardOutputFormat):
    """SB3's TensorBoard writer; on resume its new event file tells TensorBoard to drop the
    events logged after ``keep_until_step`` by the stopped process (``purge_step``), so that
    no step shows twice."""

    def __init__(self, folder: str, keep_until_step: int | None = None) -> None:
        if keep_until_step is None:
            super().__init__(folder)
            return
        wait_past_event_files(Path(folder))
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
