"""Per-slot random streams, consumed in blocks so that batched resets stay vectorized.

Slot ``i`` of an environment seeded with ``s`` owns a ``np.random.Generator`` seeded
with ``s + i`` (Gymnasium's convention for vector envs). Its uniform doubles are drawn
in blocks of ``block`` rows; since ``Generator.random`` fills arrays in order, the
``k``-th row a slot consumes is exactly the ``k``-th draw a single env seeded with
``s + i`` would make. A single env and every slot of a vector env therefore see the
same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class SlotStreams:
    """``n_slots`` independent uniform streams, each yielding rows of ``width`` doubles.

    :param n_slots: number of slots
    :param width: doubles per draw (0 makes every draw an empty row)
    :param spawn_key: distinguishes independent streams derived from the same seed;
        ``()`` gives ``np.random.default_rng(seed)`` exactly (Gymnasium's own stream)
    :param block: rows drawn per refill
    """

    def __init__(self, n_slots: int, width: int, spawn_key: tuple[int, ...] = (), block: int = 64) -> None:
        self.n_slots = n_slots
        self.width = width
        self.spawn_key = spawn_key
        self.block = block
        self._gens: list[np.random.Generator] = []
        self._buf = np.zeros((n_slots, block, width), dtype=np.float64)
        self._ptr = np.full(n_slots, block, dtype=np.int64)
        self.seeded = False

    def seed(self, seeds: Sequence[int]) -> None:
        """Reseed every slot: slot ``i`` from ``seeds[i]``; buffered draws are discarded."""
        if len(seeds) != self.n_slots:
            raise ValueError(f"expected {self.n_slots} seeds, got {len(seeds)}")
        self._gens = [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(s), spawn_key=self.spawn_key)))
            for s in seeds
        ]
        self._ptr[:] = self.block
        self.seeded = True

    def draw(self, idx: np.ndarray) -> np.ndarray:
        """The next row of each slot in ``idx`` (distinct slot indices): ``(len(idx), width)``."""
        if not self.seeded:
            raise RuntimeError("SlotStreams.draw before seed(); call reset() first")
        ptr = self._ptr[idx]
        empty = ptr >= self.block
        if empty.any():
            shape = (self.block, self.width)
            for i in idx[empty].tolist():
                self._gens[i].random(shape, out=self._buf[i])
            ptr[empty] = 0
        self._ptr[idx] = ptr + 1
        # row ptr[k] of slot idx[k], gathered from the flattened buffer (faster than 2-D fancy indexing)
        return self._buf.reshape(-1, self.width).take(idx * self.block + ptr, axis=0)

    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue the streams exactly (for checkpoints)."""
        return {
            "gens": [g.bit_generator.state for g in self._gens],
            "buf": self._buf.copy(),
            "ptr": self._ptr.copy(),
            "seeded": self.seeded,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self._gens = []
        for s in state["gens"]:
            gen = np.random.Generator(np.random.PCG64())
            gen.bit_generator.state = s
            self._gens.append(gen)
        self._buf = np.array(state["buf"], dtype=np.float64)
        self._ptr = np.array(state["ptr"], dtype=np.int64)
        self.seeded = bool(state["seeded"])
