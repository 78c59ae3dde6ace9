"""A read-only mapping of a task's parameter values, cheap to copy.

Every reset and step of a single env puts the running task's parameter values in
``info["task_params"]``. SB3's ``DummyVecEnv`` deep-copies every env's ``info`` on every
step, and a deep copy of a plain dict of five floats costs more than a CartPole step of
ours; a mapping that cannot change is its own deep copy. (Each step still returns a new one, made
at C speed: Gymnasium's env checker asks that two calls' infos share no container.)
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from mtml_rl.tasks.params import ParamValue

_T = TypeVar("_T", bound="FrozenParams")


class FrozenParams(dict[str, ParamValue]):
    """A task's parameter values by name, read only: a ``dict`` (equal to, and serialized
    like, the plain one) whose changes raise ``TypeError``, and whose ``copy.copy`` and
    ``copy.deepcopy`` are itself. ``dict(params)`` gives an editable copy, and
    ``FrozenParams(params)`` a new read-only one."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "a task's parameter values in an env's info are read only; edit a copy: dict(info['task_params'])"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def copy(self: _T) -> _T:
        """Itself: it cannot change."""
        return self

    def __copy__(self: _T) -> _T:
        return self

    def __deepcopy__(self: _T, memo: dict[int, Any]) -> _T:
        return self

    def __reduce__(self) -> tuple[type[FrozenParams], tuple[dict[str, ParamValue]]]:
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenParams({dict.__repr__(self)})"
