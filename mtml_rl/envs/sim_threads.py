"""Stepping the simulators of a :class:`~mtml_rl.envs.sim_slots.SimSlots` on threads.

MuJoCo releases the GIL while it integrates (``mj_step``), so the simulators of several
slots can advance at the same time on threads of one process. The slots are cut into
contiguous chunks, one per thread, and the results come back in slot order. Each simulator
is touched by one thread only and draws no random numbers that another slot shares, so the
results are exactly those of the sequential loop.

Where the family cuts its simulator's step around the physics
(:meth:`~mtml_rl.families.sim.SimFamily.split_step`: Gymnasium's v5 HalfCheetah, Hopper,
Walker2d and Ant), the threads run nothing but MuJoCo's integration; the controls, the
observations, rewards and ``info`` of all slots are built in the calling thread before and
after, so almost nothing on the threads holds the GIL. Other simulators (Box2D, Meta-World)
run their whole ``step`` on the threads, and their Python part holds the GIL. Either way the
family's reward and success hooks and every array of the engine stay in the calling thread.
A gain needs idle cores; ``scripts/bench_sim_envs.py`` measures it against the sequential
loop, ``SyncVectorEnv`` and ``AsyncVectorEnv``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mtml_rl.errors import TaskError
from mtml_rl.families.mujoco_split import SplitStep, StepOut


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_sim_threads(sim_threads: object, num_slots: int) -> int:
    """The number of stepping threads: ``sim_threads`` itself (at most one per slot), or
    ``min(num_slots, usable CPUs)`` for ``"auto"``.

    :param sim_threads: a positive integer or ``"auto"``
    :param num_slots: the engine's number of slots
    :raises TaskError: for anything else
    """
    if sim_threads == "auto":
        return min(num_slots, usable_cpus())
    if isinstance(sim_threads, bool) or not isinstance(sim_threads, int) or sim_threads < 1:
        raise TaskError(
            f"sim_threads must be a positive integer or 'auto', got {sim_threads!r} "
            "(1 steps the simulators one after another in the calling thread)"
        )
    return min(sim_threads, num_slots)


def chunks(num_slots: int, parts: int) -> list[range]:
    """``num_slots`` slots cut into ``parts`` contiguous, nearly equal, non-empty ranges."""
    parts = max(1, min(parts, num_slots))
    base, extra = divmod(num_slots, parts)
    bounds = [0]
    for k in range(parts):
        bounds.append(bounds[-1] + base + (1 if k < extra else 0))
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


class SimStepper:
    """Steps a list of simulators, sequentially or on a pool of threads.

    Where every simulator has a split step (:meth:`~mtml_rl.families.sim.SimFamily.split_step`),
    only the integration runs on the threads: the controls, observations, rewards and
    ``info`` of all slots are built in the calling thread, before and after, so the threads
    hold the GIL for nothing but their loop. The calling thread integrates the first chunk
    itself. Otherwise each thread runs its chunk's whole ``step`` calls.

    :param num_slots: the number of simulators stepped at each call
    :param threads: stepping threads (1: one after another in the calling thread)
    """

    def __init__(self, num_slots: int, threads: int) -> None:
        self.threads = max(1, min(threads, num_slots))
        self._chunks = chunks(num_slots, self.threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = -1

    def step(
        self,
        steps: Sequence[Callable[[Any], StepOut]],
        actions: Sequence[Any],
        splits: Sequence[SplitStep] | None = None,
    ) -> list[StepOut]:
        """Each simulator's step with its action, in slot order.

        :param steps: each simulator's whole step (its ``step``, or an equal one)
        :param actions: one simulator action each
        :param splits: each simulator's split step (``None``: step them whole)
        """
        if splits is not None:
            return self._step_split(splits, actions)
        if self.threads == 1:
            return [step(a) for step, a in zip(steps, actions, strict=True)]

        def run(chunk: range) -> list[StepOut]:
            return [steps[i](actions[i]) for i in chunk]

        parts = self._executor().map(run, self._chunks)
        return [out for part in parts for out in part]

    def _step_split(self, splits: Sequence[SplitStep], actions: Sequence[Any]) -> list[StepOut]:
        befores = [split.before(a) for split, a in zip(splits, actions, strict=True)]
        mujoco = sys.modules["mujoco"]  # imported by every simulator that has a split step
        if self.threads == 1:
            for split in splits:
                split.integrate(mujoco)
        else:

            def run(chunk: range) -> None:
                for i in chunk:
                    splits[i].integrate(mujoco)

            futures = [self._executor().submit(run, chunk) for chunk in self._chunks[1:]]
            run(self._chunks[0])
            for future in futures:
                future.result()
        return [split.after(a, b) for split, a, b in zip(splits, actions, befores, strict=True)]

    def _executor(self) -> ThreadPoolExecutor:
        # A pool does not survive fork (its threads stay in the parent): start a new one.
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mtml-sim")
            self._pool_pid = os.getpid()
        return self._pool

    def close(self) -> None:
        """Stop the threads (a later :meth:`step` starts new ones)."""
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.shutdown(wait=True)
        self._pool = None
