"""The immutable, hashable :class:`Task`: one variant of a family."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtml_rl.errors import TaskError
from mtml_rl.tasks.params import ParamValue

_ID_DIGITS = 10


def canonical_value(value: ParamValue) -> ParamValue:
    """Round a number to 10 significant digits, so ids survive JSON round trips; a
    categorical value (a name) is kept as it is."""
    if isinstance(value, str):
        return value
    return float(f"{float(value):.10g}")


@dataclass(frozen=True, eq=False)
class Task:
    """One variant of a task family: the family's name and every parameter's value.

    Tasks are hashable, compare by value, and round-trip through JSON. ``id`` is stable
    across processes and machines: it is derived from the family and the values alone.
    Equality and hashing ignore the order of ``params`` (as ``id`` does), so a task read
    back from JSON with sorted keys equals the original.

    :param family: the family's registered name (e.g. ``"cartpole"``)
    :param params: ``(name, value)`` pairs for every parameter of the family, in the
        family's declaration order (numbers, and names for categorical parameters)
    """

    family: str
    params: tuple[tuple[str, ParamValue], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple((str(k), canonical_value(v)) for k, v in self.params))

    def _key(self) -> tuple[str, tuple[tuple[str, ParamValue], ...]]:
        return self.family, tuple(sorted(self.params))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @classmethod
    def make(cls, family: str, values: Mapping[str, ParamValue]) -> Task:
        """Build a task from a family name and a mapping of every parameter's value."""
        return cls(family=family, params=tuple(values.items()))

    @property
    def id(self) -> str:
        """A stable identifier: the family name and a hash of the values."""
        digest = hashlib.sha256(self._canonical().encode()).hexdigest()[:_ID_DIGITS]
        return f"{self.family}-{digest}"

    def _canonical(self) -> str:
        return json.dumps({"family": self.family, "params": dict(self.params)}, sort_keys=True)

    def __getitem__(self, name: str) -> ParamValue:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"task {self.id} has no parameter {name!r}; it has {[k for k, _ in self.params]}")

    def as_dict(self) -> dict[str, ParamValue]:
        """The parameter values by name."""
        return dict(self.params)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict: family, params and id."""
        return {"family": self.family, "params": dict(self.params), "id": self.id}

    def to_json(self) -> str:
        """Serialize to a JSON string."""
        return json.dumps(self.to_json_dict(), sort_keys=True)

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Task:
        """Inverse of :meth:`to_json_dict`; checks the id when one is given."""
        try:
            task = cls(family=str(data["family"]), params=tuple(dict(data["params"]).items()))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(
                f"not a task: {dict(data)!r}; expected {{'family': ..., 'params': {{...}}}}"
            ) from exc
        if "id" in data and data["id"] != task.id:
            raise TaskError(f"task id {data['id']!r} does not match its values (expected {task.id!r})")
        return task

    @classmethod
    def from_json(cls, text: str) -> Task:
        """Inverse of :meth:`to_json`."""
        return cls.from_json_dict(json.loads(text))

    def short(self) -> str:
        """A short human-readable description, e.g. ``cartpole(length=0.5, gravity=9.8)``."""
        inner = ", ".join(f"{k}={v}" if isinstance(v, str) else f"{k}={v:g}" for k, v in self.params)
        return f"{self.family}({inner})"
