"""A progress bar over evaluated tasks (rich), or nothing."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """Counts finished tasks; draws a bar when enabled.

    :param total: tasks to finish (every run's and the random baseline's)
    :param enabled: draw the bar (default: when stderr is a terminal)
    """

    def __init__(self, total: int, enabled: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("tasks"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("evaluating", total=self.total)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, value, tb)

    def describe(self, text: str) -> None:
        """Say what is being evaluated now."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=text)

    def advance(self, tasks: int) -> None:
        """Count ``tasks`` more finished tasks."""
        self.done += tasks
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, tasks)
