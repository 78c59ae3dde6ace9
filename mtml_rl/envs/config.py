"""Resolving the keyword arguments of ``gym.make`` into what an engine needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from mtml_rl.errors import TaskError, UnknownNameError
from mtml_rl.families.base import Family
from mtml_rl.families.checks import check_family_actions, check_family_observations
from mtml_rl.specs.spec import CONTEXT_MODES, TaskSpec, resolve_spec
from mtml_rl.specs.splits import build_splits
from mtml_rl.tasks.task import Task


@dataclass(frozen=True)
class EnvSetup:
    """Everything an environment is built from.

    :param spec: the task-distribution spec
    :param family: an instance of the spec's family
    :param tasks: the tasks to schedule
    :param sample: draw a task at every reset (a split) or keep fixed tasks
    :param split: the split's name, or ``None`` for fixed tasks
    :param context: the context visibility mode
    :param history_len: the history window's length
    :param max_episode_steps: the time limit
    """

    spec: TaskSpec
    family: Family
    tasks: tuple[Task, ...]
    sample: bool
    split: str | None
    context: str
    history_len: int
    max_episode_steps: int


def coerce_task(spec: TaskSpec, task: Any) -> Task:
    """A validated :class:`Task` of ``spec``'s family from a Task, a mapping or JSON dict."""
    family = spec.family_cls
    if isinstance(task, Task):
        return family.validate_task(task)
    if isinstance(task, Mapping):
        if "family" in task and "params" in task:
            return family.validate_task(Task.from_json_dict(task))
        values = {**spec.fixed, **dict(task)}
        return family.task(values)
    raise TaskError(
        f"task= expects a Task or a mapping of parameter values such as {{{spec.varying[0]!r}: 1.0}}, "
        f"got {type(task).__name__} {task!r}"
    )


def resolve_setup(
    spec: str | TaskSpec,
    *,
    split: str | None = None,
    task: Any = None,
    tasks: Sequence[Any] | None = None,
    context: str | None = None,
    history_len: int = 0,
    max_episode_steps: int | None = None,
) -> EnvSetup:
    """Resolve ``gym.make`` keyword arguments; every error names the fix."""
    resolved = resolve_spec(spec)
    family = resolved.family_cls()
    check_family_actions(family)
    check_family_observations(family)
    # the sim engines cast back to SimFamily (sim_slots.sim_family); both share what EnvSetup reads
    given = sum(x is not None for x in (split, task, tasks))
    if given > 1:
        raise TaskError("pass at most one of split=, task= and tasks=")
    context = resolved.context if context is None else context
    if context not in CONTEXT_MODES:
        raise UnknownNameError("context mode", str(context), CONTEXT_MODES)
    if context != "hidden" and not resolved.privileged_context:
        raise TaskError(
            f"{resolved.id} declares privileged_context: false, so its context cannot be shown "
            f"(context={context!r}); use context='hidden'"
        )
    if isinstance(history_len, bool) or not isinstance(history_len, int) or history_len < 0:
        raise TaskError(f"history_len must be an integer >= 0, got {history_len!r}")
    chosen: tuple[Task, ...]
    if task is not None:
        chosen, sample, split_name = (coerce_task(resolved, task),), False, None
    elif tasks is not None:
        if len(tasks) == 0:
            raise TaskError("tasks= needs at least one task")
        chosen, sample, split_name = tuple(coerce_task(resolved, t) for t in tasks), False, None
    else:
        split_name = split or "train"
        chosen, sample = build_splits(resolved)[split_name].tasks, True
    steps = resolved.max_episode_steps if max_episode_steps is None else int(max_episode_steps)
    return EnvSetup(resolved, cast(Family, family), chosen, sample, split_name, context, history_len, steps)
