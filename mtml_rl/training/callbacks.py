"""Training callbacks: checkpoints, periodic evaluation, per-task returns, progress bar."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from stable_baselines3.common.callbacks import BaseCallback

from mtml_rl.training.monitor import TaskEpisodeMonitor


class _Every:
    """Fires when the step counter crosses a multiple of ``freq``."""

    def __init__(self, freq: int, start: int) -> None:
        self.freq = freq
        self.last = start // freq if freq > 0 else 0

    def due(self, steps: int) -> bool:
        if self.freq <= 0:
            return False
        mark = steps // self.freq
        if mark > self.last:
            self.last = mark
            return True
        return False


class PeriodicCallback(BaseCallback):
    """Calls ``action(num_timesteps)`` every ``freq`` environment steps.

    :param freq: period in environment steps (0 disables it)
    :param action: what to do
    """

    def __init__(self, freq: int, action: Callable[[int], None]) -> None:
        super().__init__()
        self.freq = freq
        self.action = action
        self._every: _Every | None = None

    def _on_training_start(self) -> None:
        self._every = _Every(self.freq, self.num_timesteps)

    def _on_step(self) -> bool:
        assert self._every is not None
        if self._every.due(self.num_timesteps):
            self.action(self.num_timesteps)
        return True


class TaskReturnLogger(BaseCallback):
    """Logs returns of finished training episodes, overall and for a sample of tasks.

    :param monitor: the monitor that records finished episodes
    :param max_tasks: how many distinct tasks get their own ``tasks/`` curve
    """

    def __init__(self, monitor: TaskEpisodeMonitor, max_tasks: int = 8) -> None:
        super().__init__()
        self.monitor = monitor
        self.max_tasks = max_tasks
        self.tracked: list[str] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        finished = self.monitor.drain()
        if not finished:
            return
        by_task: dict[str, list[float]] = defaultdict(list)
        for episode in finished:
            by_task[episode.task_id].append(episode.ret)
            if episode.task_id not in self.tracked and len(self.tracked) < self.max_tasks:
                self.tracked.append(episode.task_id)
        self.logger.record("returns/train_episode_mean", float(np.mean([e.ret for e in finished])))
        successes = [e.success for e in finished if e.success is not None]
        if successes:
            self.logger.record("returns/train_success_rate", float(np.mean(successes)))
        for task_id in self.tracked:
            if task_id in by_task:
                self.logger.record(f"tasks/{task_id}", float(np.mean(by_task[task_id])))


class _StepsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} steps/s" if speed else "-- steps/s", style="progress.data.speed")


class RichProgress(BaseCallback):
    """A rich progress bar with steps/s and ETA; silent when disabled.

    :param total: the step count at which training ends
    :param description: the bar's label
    :param enabled: show it (callers pass ``False`` when not a terminal or ``--quiet``)
    """

    def __init__(self, total: int, description: str, enabled: bool | None = None) -> None:
        super().__init__()
        self.total = total
        self.description = description
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task_id: TaskID | None = None

    def _on_training_start(self) -> None:
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _StepsPerSecond(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._progress.start()
        self._task_id = self._progress.add_task(
            self.description, total=self.total, completed=self.num_timesteps
        )

    def _on_step(self) -> bool:
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, completed=self.num_timesteps)
        return True

    def _on_training_end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def best_dir(run: Path) -> Path:
    """Where the best model by periodic evaluation lives."""
    return run / "best"
