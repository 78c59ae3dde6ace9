"""Playing the episodes: an agent (or the random baseline) on a list of tasks, and the
records made from them (episode rows, adaptation curves, the generalization grid)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch as th

from mtml_rl.errors import RejectedTask
from mtml_rl.evaluation.probes import InstrumentedAgent, RandomAgent, baseline_errors, latent_probe
from mtml_rl.evaluation.results import AdaptationCurve, EpisodeRow, GridResult
from mtml_rl.rollouts import Agent, SlotPlan, has_adapt_step, plan_slots, play_plan, sequential_plan
from mtml_rl.rollouts.episodes import chunks, slot_limit
from mtml_rl.specs.spec import TaskSpec, VaryingParameter
from mtml_rl.tasks.params import ParamValue
from mtml_rl.tasks.regions import Region, ValueSet
from mtml_rl.tasks.task import Task

Advance = Callable[[int], None]
"""Called with the number of tasks just finished (drives the progress bar)."""
RANDOM_MEMO_SIZE = 64
"""The most random-baseline measurements :func:`random_returns` keeps per process."""
_RANDOM_MEMO: dict[tuple[Any, ...], tuple[float, ...]] = {}


@dataclass(frozen=True)
class Played:
    """One played episode of a task.

    :param task_index: the task's index in the list played
    :param trial: the trial's index
    :param episode: the episode's index within its trial
    :param index: the episode's index among the task's episodes
    :param ret: return
    :param length: steps
    :param success: success flag (``None`` where undefined)
    :param rewards: per-step rewards
    :param latent: per-step latent errors (``None``: not measured)
    :param mean_latent: the error of the best constant latent on this task (``None``: not measured)
    """

    task_index: int
    trial: int
    episode: int
    index: int
    ret: float
    length: int
    success: bool | None
    rewards: tuple[float, ...]
    latent: tuple[float, ...] | None
    mean_latent: float | None = None


def play(
    agent: Agent,
    spec: TaskSpec,
    tasks: Sequence[Task],
    *,
    episodes: int,
    trial_episodes: int,
    seed: int,
    deterministic: bool = True,
    advance: Advance | None = None,
    parallel: bool = True,
) -> list[Played]:
    """``episodes`` episodes of every task (in trials of ``trial_episodes``), sorted by task.

    Task ``i`` is reset with seed ``seed + i`` whether tasks run batched (one slot each, or one
    per trial: :func:`~mtml_rl.rollouts.plan_slots`) or one at a time (agents with an adapt
    step, adapted to each task first with that seed).

    :param parallel: allow one slot per trial (``False``: one slot per task, for agents whose
        actions depend on the number of slots, like the random baseline's shared sampler)
    """
    th.manual_seed(seed)  # stochastic actions sample from torch's generator
    trials = episodes // trial_episodes

    def plan(n_tasks: int, base_seed: int) -> SlotPlan:
        if not parallel:
            return sequential_plan(n_tasks, trials, trial_episodes, base_seed)
        return plan_slots(
            spec,
            n_tasks,
            trials=trials,
            trial_episodes=trial_episodes,
            seed=base_seed,
            deterministic=deterministic,
        )

    out: list[Played] = []
    if not has_adapt_step(agent):
        for start, part in chunks(list(tasks), slot_limit(spec)):  # task i still seeded seed + i
            played = _play_batch(
                agent, spec, list(part), plan(len(part), seed + start), deterministic, advance
            )
            out += [_reindex(p, p.task_index + start) for p in played]
        return out
    for i, task in enumerate(tasks):
        agent.adapt(spec, task, seed + i)  # type: ignore[attr-defined]
        played = _play_batch(agent, spec, [task], plan(1, seed + i), deterministic, advance)
        out += [_reindex(p, i) for p in played]
    return out


def _reindex(p: Played, index: int) -> Played:
    return replace(p, task_index=index)


def _play_batch(
    agent: Agent,
    spec: TaskSpec,
    tasks: list[Task],
    plan: SlotPlan,
    deterministic: bool,
    advance: Advance | None,
) -> list[Played]:
    probe = latent_probe(agent, [tasks[i] for i in plan.task_index.tolist()])
    baseline = baseline_errors(probe)  # per slot; the same for every slot of a task
    first_slot = {task: slot for slot, task in reversed(list(enumerate(plan.task_index.tolist())))}
    wrapped = InstrumentedAgent(agent, plan, probe, advance)
    episodes = play_plan(wrapped, spec, tasks, plan, deterministic=deterministic)
    wrapped.finish()
    index = {task: i for i, task in enumerate(tasks)}
    out = []
    k = plan.trial_episodes
    for e in episodes:
        i, n = index[e.task], e.trial * k + e.episode
        latent = wrapped.latent[(i, n)] if probe is not None else None
        mean_latent = float(baseline[first_slot[i]]) if baseline is not None else None
        out.append(
            Played(i, e.trial, e.episode, n, e.ret, e.length, e.success, e.rewards, latent, mean_latent)
        )
    return sorted(out, key=lambda p: (p.task_index, p.index))


def random_returns(
    spec: TaskSpec, tasks: Sequence[Task], *, episodes: int, seed: int, advance: Advance | None = None
) -> list[float]:
    """Mean return of a uniform random agent on every task (the same reset seeds as :func:`play`).

    One slot per task: the agent's single sampler draws slot after slot, so its actions (and
    the returns) depend on the number of slots.

    The returns depend only on the family, what defines the spec's tasks
    (:meth:`~mtml_rl.specs.spec.TaskSpec.content_hash`), the tasks, ``episodes`` and
    ``seed``, so a process keeps the last :data:`RANDOM_MEMO_SIZE` measurements and plays the
    random agent once for all the runs of a spec it evaluates (a benchmark's worker evaluates
    every trial it trains).
    """
    key = (type(spec.family_cls()), spec.content_hash(), tuple(t.id for t in tasks), episodes, seed)
    known = _RANDOM_MEMO.get(key)
    if known is not None:
        if advance is not None:
            advance(len(tasks))
        return list(known)
    returns = _play_random(spec, tasks, episodes=episodes, seed=seed, advance=advance)
    if len(_RANDOM_MEMO) >= RANDOM_MEMO_SIZE:
        del _RANDOM_MEMO[next(iter(_RANDOM_MEMO))]  # the oldest
    _RANDOM_MEMO[key] = tuple(returns)
    return returns


def _play_random(
    spec: TaskSpec, tasks: Sequence[Task], *, episodes: int, seed: int, advance: Advance | None
) -> list[float]:
    """:func:`random_returns`, played."""
    family = spec.family_cls()
    agent = RandomAgent(family.action_space(), seed)
    played = play(
        agent, spec, tasks, episodes=episodes, trial_episodes=1, seed=seed, advance=advance, parallel=False
    )
    sums = np.zeros(len(tasks))
    np.add.at(sums, [p.task_index for p in played], [p.ret for p in played])
    return (sums / episodes).tolist()


def episode_rows(
    run: str, spec: str, split: str, tasks: Sequence[Task], played: list[Played]
) -> list[EpisodeRow]:
    """One :class:`EpisodeRow` per played episode."""
    return [
        EpisodeRow(
            run, spec, split, tasks[p.task_index].id, p.trial, p.episode, p.index, p.ret, p.length, p.success
        )
        for p in played
    ]


def adaptation_curve(
    run: str, spec: TaskSpec, split: str, played: list[Played], trial_episodes: int
) -> AdaptationCurve:
    """Mean cumulative reward by step, mean return by episode of a trial, latent error by step."""
    horizon = spec.max_episode_steps
    by_episode = [float(np.mean([p.ret for p in played if p.episode == j])) for j in range(trial_episodes)]
    baselines = [p.mean_latent for p in played if p.mean_latent is not None]
    return AdaptationCurve(
        run,
        spec.id,
        split,
        _return_curve(played, horizon).tolist(),
        by_episode,
        _latent_curve(played, horizon),
        float(np.mean(baselines)) if baselines else None,
    )


def _return_curve(played: list[Played], horizon: int) -> np.ndarray:
    """Mean cumulative reward after each of ``horizon`` steps (an ended episode keeps its final
    return), summed episode by episode into one row: the memory of one episode's curve, not of
    every episode's (a long time limit times many episodes)."""
    total = np.zeros(horizon)
    for p in played:
        sums = np.cumsum(p.rewards)[:horizon]
        total[: len(sums)] += sums
        total[len(sums) :] += sums[-1] if len(sums) else 0.0
    return total / max(len(played), 1)


def _latent_curve(played: list[Played], horizon: int) -> list[float | None] | None:
    series = [p.latent for p in played if p.latent is not None]
    if not series:
        return None
    sums, counts = np.zeros(horizon), np.zeros(horizon)
    for errors in series:
        n = min(len(errors), horizon)
        sums[:n] += errors[:n]
        counts[:n] += 1
    return [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]


# --------------------------------------------------------------------------------------------
# the generalization grid
# --------------------------------------------------------------------------------------------
def _axis(p: VaryingParameter, size: int) -> list[ParamValue]:
    """A numeric parameter's ``size`` evenly spaced values over its train and held-out hull,
    or a categorical parameter's values (train, then held out)."""
    if isinstance(p.train, ValueSet):
        return list(p.values)
    low, high = p.train.low, p.train.high
    if isinstance(p.extrapolation, Region):
        low, high = min(low, p.extrapolation.low), max(high, p.extrapolation.high)
    return list(np.linspace(low, high, size).tolist())


def _held_value(spec: TaskSpec, p: VaryingParameter) -> ParamValue:
    """The family default if the train region holds it, else the first train value (or the
    first train interval's middle)."""
    default = spec.family_cls.params_cls().as_dict()[p.name]
    if isinstance(p.train, ValueSet):
        return default if p.train.contains(default) else p.train.values[0]
    if not isinstance(default, str) and p.train.contains(default):
        return float(default)
    first = p.train.intervals[0]
    return 0.5 * (first.low + first.high)


def _train_spans(p: VaryingParameter) -> list[list[float]]:
    """The train region along one axis: intervals, or for a categorical parameter the index
    span of its train values (they come first on its axis)."""
    if isinstance(p.train, ValueSet):
        return [[-0.5, len(p.train.values) - 0.5]]
    return [i.as_list() for i in p.train.intervals]


def grid_layout(spec: TaskSpec, params: tuple[str, str], size: int) -> tuple[GridResult, list[Task | None]]:
    """An empty :class:`GridResult` over ``params`` and its tasks, row-major (``y`` then ``x``).

    A categorical axis holds the parameter's values (train, then held out) and its train
    region is drawn in index coordinates. A cell whose values the family rejects (not a task:
    :class:`~mtml_rl.errors.RejectedTask`) has no task (``None``) and stays empty.
    """
    a, b = (spec.parameter(name) for name in params)
    xs, ys = _axis(a, size), _axis(b, size)
    others = {p.name: _held_value(spec, p) for p in spec.parameters if p.name not in params}
    tasks = [_cell_task(spec, {**others, a.name: x, b.name: y}) for y in ys for x in xs]
    boxes = [[i, j] for i in _train_spans(a) for j in _train_spans(b)]
    box = spec.combinatorial
    held = [box[a.name].as_list(), box[b.name].as_list()] if a.name in box and b.name in box else None
    grid = GridResult(spec.id, list(params), xs, ys, others, boxes, held, [], None, {})
    return grid, tasks


def _cell_task(spec: TaskSpec, values: dict[str, ParamValue]) -> Task | None:
    try:
        return spec.family_cls.task({**spec.fixed, **values})
    except RejectedTask:
        return None


def grid_values(
    grid: GridResult, tasks: Sequence[Task | None], played: Sequence[float]
) -> list[list[float | None]]:
    """``[y][x]`` cells from the values of the played (non-empty) cells, in row-major order;
    empty cells are ``None``."""
    values = iter(played)
    flat = [None if task is None else float(next(values)) for task in tasks]
    width = len(grid.x_values)
    return [flat[row * width : (row + 1) * width] for row in range(len(grid.y_values))]
