"""Checks of what a caller hands the vector env: actions, seeds and reset options.

Each check raises :class:`~mtml_rl.errors.TaskError` naming the slot, the value and the fix,
as Gymnasium's own batched environments refuse what lies outside their spaces. Discrete
actions must be integers of the space; continuous ones must be finite (beyond the bounds,
the families clip them, as Gymnasium's continuous-control environments do). The action
check runs at every step, so it is built once per action space and costs one or two numpy
reductions over the batch; ``MultiTaskVectorEnv(validate_actions=False)`` skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from mtml_rl.errors import TaskError, suggest

ActionCheck = Callable[[np.ndarray], None]
"""Raises :class:`TaskError` if a batch of actions (of the right shape) lies outside the space."""
RESET_OPTIONS = ("reset_mask", "task")
"""The keys ``reset(options=...)`` of the vector env understands."""
FIX = "(validate_actions=False turns this check off)"


def action_check(space: spaces.Space[Any]) -> ActionCheck:
    """The check of a batch of actions for one slot's action ``space`` (Discrete or Box); a
    picklable object, so that the env pickles."""
    if isinstance(space, spaces.Discrete):
        return DiscreteCheck(int(space.n), int(space.start))
    if isinstance(space, spaces.Box):
        return BoxCheck()
    return NoCheck()


class NoCheck:
    """Accepts every batch (spaces other than Discrete and Box: the engine's own checks apply)."""

    def __call__(self, actions: np.ndarray) -> None:
        """Accept ``actions``."""


class DiscreteCheck:
    """Actions of ``Discrete(n, start)``: integers in ``[start, start + n - 1]``.

    :param n: the number of actions
    :param start: the first action
    """

    def __init__(self, n: int, start: int) -> None:
        self.n = n
        self.start = start
        self.high = start + n - 1

    def __call__(self, actions: np.ndarray) -> None:
        """Raise :class:`TaskError` unless every action is an integer of the space."""
        if actions.dtype.kind not in "iu":
            raise TaskError(
                f"actions must be integers in [{self.start}, {self.high}] (the action space "
                f"Discrete({self.n})), got an array of {actions.dtype} {FIX}"
            )
        if actions.size and not _in_range(actions, self.start, self.high):
            flat = actions.reshape(-1)
            bad = int(np.flatnonzero((flat < self.start) | (flat > self.high))[0])
            raise TaskError(
                f"action {flat[bad]} of slot {bad} is outside the action space Discrete({self.n}): "
                f"actions are integers in [{self.start}, {self.high}] {FIX}"
            )


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
"""The unsigned integer type of each size, to view signed actions as."""


def _in_range(actions: np.ndarray, low: int, high: int) -> bool:
    """Whether every integer action is in ``[low, high]`` (one ``argmax`` when ``low`` is 0:
    the cheapest full pass numpy offers over a batch)."""
    if low == 0:
        unsigned = actions if actions.dtype.kind == "u" else actions.view(_UNSIGNED[actions.dtype.itemsize])
        return bool(unsigned[unsigned.argmax()] <= high)  # a negative value is a huge unsigned one
    return bool(actions.min() >= low and actions.max() <= high)


class BoxCheck:
    """Actions of a Box: finite numbers. Finite actions beyond the bounds are clipped by the
    family's dynamics, as in Gymnasium's continuous-control environments (SB3 clips them to
    the bounds before stepping); NaN or an infinity would poison the slot's state."""

    def __call__(self, actions: np.ndarray) -> None:
        """Raise :class:`TaskError` unless every action is a finite number."""
        if actions.dtype.kind not in "fiu":
            raise TaskError(f"actions must be numbers, got an array of {actions.dtype} {FIX}")
        if actions.dtype.kind == "f" and not np.isfinite(actions).all():
            slot = int(np.argwhere(~np.isfinite(actions))[0][0])
            raise TaskError(
                f"the action of slot {slot} is not finite ({actions[slot].tolist()}): a NaN or infinite "
                f"action would poison that slot's state {FIX}"
            )


def reset_seeds(seed: Any, num_envs: int) -> list[int]:
    """Slot seeds of ``reset(seed=...)``: an int ``s`` gives ``s + i``; a list gives one per slot."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seeds = [int(seed) + i for i in range(num_envs)]
    elif isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, str):
        seeds = list(seed)
        if len(seeds) != num_envs:
            raise TaskError(f"reset(seed=...) got {len(seeds)} seeds for {num_envs} slots; pass one per slot")
    else:
        raise TaskError(
            f"seed must be an integer or a list of {num_envs} integers, got {type(seed).__name__} {seed!r}"
        )
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise TaskError(f"seeds must be integers >= 0, got {s!r}")
    return [int(s) for s in seeds]


def reset_options(options: Any) -> Mapping[str, Any]:
    """The reset options, checked: ``None`` or a dict of the keys in :data:`RESET_OPTIONS`."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TaskError(
            f"options must be a dict (keys: {', '.join(RESET_OPTIONS)}), "
            f"got {type(options).__name__} {options!r}"
        )
    for key in options:
        if key not in RESET_OPTIONS:
            raise TaskError(
                f"unknown reset option {key!r}{suggest(str(key), RESET_OPTIONS)} (the vector env "
                f"understands {', '.join(RESET_OPTIONS)})"
            )
    return options


def reset_mask(mask: Any, num_envs: int) -> np.ndarray:
    """The slots a ``reset_mask`` selects: it must be a boolean array of shape ``(num_envs,)``."""
    array = np.asarray(mask)
    if array.dtype != np.bool_ or array.shape != (num_envs,):
        raise TaskError(
            f"options['reset_mask'] must be a boolean array of shape ({num_envs},), got "
            f"{array.dtype} of shape {array.shape}; e.g. np.array([True, False, ...])"
        )
    return np.flatnonzero(array)
