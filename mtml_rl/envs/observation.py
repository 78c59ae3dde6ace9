"""Observation layouts: which parts (obs, context, history) an agent sees, and how.

- ``hidden``: the family's observation only;
- ``visible``: the normalized context appended to it (one-hot blocks for categorical
  parameters);
- ``privileged``: a Dict ``{"obs", "context"}`` (for training with privileged context).

With a history window of ``H > 0`` transitions the observation is a Dict that adds
``"history"``: a flat float32 vector of ``H * D`` values, the rows ``(obs, action,
reward)`` of the last ``H`` transitions, oldest first, zero before the episode's
start. Discrete actions are one-hot encoded in it. ``D = obs_dim + action_dim + 1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from mtml_rl.errors import TaskError, UnknownNameError
from mtml_rl.families.base import Family
from mtml_rl.specs.spec import CONTEXT_MODES, TaskSpec
from mtml_rl.tasks.task import Task


def action_encoding_dim(action_space: spaces.Space) -> int:
    """Width of one action in the history (one-hot for Discrete)."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    assert isinstance(action_space, spaces.Box)
    return int(np.prod(action_space.shape))


def task_id_index(spec: TaskSpec) -> list[int]:
    """The context entries of the task id: the one-hot blocks of the spec's varying categorical
    parameters (empty without one), in the layout of :class:`ContextCodec`.

    :param spec: the spec
    """
    out, k = [], 0
    for p in spec.parameters:
        width = len(p.values) if p.categorical else 1
        if p.categorical:
            out += list(range(k, k + width))
        k += width
    return out


class ContextCodec:
    """Maps tasks to context vectors, one block per varying parameter in spec order.

    A numeric parameter is one entry, ``(value - center) / half_width`` with center and half
    width from its train region, so train tasks map into [-1, 1] and held-out ones outside
    it. A categorical parameter is a one-hot block over its train values then its held-out
    values (:attr:`~mtml_rl.specs.spec.VaryingParameter.values`): a held-out value lights an
    entry that no training task does. The one-hot entries are the task id
    (:attr:`task_id_index`).
    """

    def __init__(self, spec: TaskSpec, family: type[Family]) -> None:
        self.names = spec.varying
        bounds = {s.name: s for s in family.param_specs()}
        self._numeric = [p.name for p in spec.parameters if not p.categorical]
        numeric = [p for p in spec.parameters if not p.categorical]
        self.center = np.array([p.center for p in numeric], dtype=np.float64)
        self.scale = np.array([p.half_width for p in numeric], dtype=np.float64)
        self._columns: list[int] = []
        """Where each numeric parameter's entry goes."""
        self._onehot: list[tuple[str, dict[str, int]]] = []
        """Each categorical parameter's name and the entry of each of its values."""
        low: list[float] = []
        high: list[float] = []
        k = 0
        for p in spec.parameters:
            if p.categorical:
                self._onehot.append((p.name, {v: k + i for i, v in enumerate(p.values)}))
                low += [0.0] * len(p.values)
                high += [1.0] * len(p.values)
                k += len(p.values)
                continue
            j = len(self._columns)
            self._columns.append(k)
            low.append((bounds[p.name].low - self.center[j]) / self.scale[j])
            high.append((bounds[p.name].high - self.center[j]) / self.scale[j])
            k += 1
        self.dim = k
        """Number of context entries."""
        self.task_id_index = np.array(
            sorted(i for _, entries in self._onehot for i in entries.values()), dtype=np.int64
        )
        """The context entries of the one-hot blocks (empty without categorical parameters)."""
        self.space = spaces.Box(
            np.array(low, dtype=np.float32), np.array(high, dtype=np.float32), dtype=np.float32
        )

    def encode(self, tasks: list[Task] | tuple[Task, ...]) -> np.ndarray:
        """``(len(tasks), dim)`` float32 contexts."""
        n = len(tasks)
        values = np.array([[float(t[name]) for name in self._numeric] for t in tasks], dtype=np.float64)
        numeric = ((values.reshape(n, len(self._numeric)) - self.center) / self.scale).astype(np.float32)
        if not self._onehot:
            return numeric.reshape(n, self.dim)
        out = np.zeros((n, self.dim), dtype=np.float32)
        out[:, self._columns] = numeric
        for name, entries in self._onehot:
            out[np.arange(n), [entries[str(t[name])] for t in tasks]] = 1.0
        return out

    def decode(self, context: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode` for numeric parameters: physical values from contexts."""
        if self._onehot:
            raise TaskError("decode() reads numeric contexts only; this spec has categorical parameters")
        return np.asarray(context, dtype=np.float64) * self.scale + self.center


class ObsLayout:
    """Builds the observation space and assembles batched observations.

    :param family: the family instance
    :param codec: the context codec of the spec
    :param context: ``hidden``, ``visible`` or ``privileged``
    :param history_len: transitions in the history window (0: no history)
    """

    def __init__(self, family: Family, codec: ContextCodec, context: str, history_len: int) -> None:
        if context not in CONTEXT_MODES:
            raise UnknownNameError("context mode", context, CONTEXT_MODES)
        if history_len < 0:
            raise ValueError(f"history_len must be >= 0, got {history_len}")
        self.context = context
        self.history_len = history_len
        self.base_space = family.observation_space()
        self.obs_dim = int(self.base_space.shape[0])
        self.action_dim = action_encoding_dim(family.action_space())
        self.row_dim = self.obs_dim + self.action_dim + 1
        self.codec = codec
        self.single_space = self._build_space()

    @property
    def uses_context(self) -> bool:
        """Whether observations include the context (``visible`` or ``privileged``)."""
        return self.context != "hidden"

    @property
    def is_dict(self) -> bool:
        """Whether observations are Dicts."""
        return self.context == "privileged" or self.history_len > 0

    def _obs_part_space(self) -> spaces.Box:
        if self.context != "visible":
            return self.base_space
        low = np.concatenate([self.base_space.low, self.codec.space.low]).astype(np.float32)
        high = np.concatenate([self.base_space.high, self.codec.space.high]).astype(np.float32)
        return spaces.Box(low, high, dtype=np.float32)

    def _build_space(self) -> spaces.Space:
        obs_space = self._obs_part_space()
        if not self.is_dict:
            return obs_space
        parts: dict[str, spaces.Space] = {"obs": obs_space}
        if self.context == "privileged":
            parts["context"] = self.codec.space
        if self.history_len > 0:
            size = self.history_len * self.row_dim
            parts["history"] = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        return spaces.Dict(parts)

    def assemble(self, obs: np.ndarray, context: np.ndarray, history: np.ndarray | None) -> Any:
        """Batched observation from ``(N, O)`` obs, ``(N, C)`` context, ``(N, H, D)`` history."""
        part = np.concatenate([obs, context], axis=1) if self.context == "visible" else obs
        if not self.is_dict:
            return part
        out = {"obs": part}
        if self.context == "privileged":
            out["context"] = context.copy()
        if self.history_len > 0:
            assert history is not None
            out["history"] = history.reshape(history.shape[0], -1).copy()
        return out
