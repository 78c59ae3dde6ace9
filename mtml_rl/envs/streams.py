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


def slot_generator(seed: int, spawn_key: tuple[int, ...] = ()) -> np.random.Generator:
    """The generator of a slot seeded with ``seed`` (``spawn_key=()``: ``default_rng(seed)``)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=spawn_key)))


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
        self._gens = [slot_generator(s, self.spawn_key) for s in seeds]
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


class SlotStream:
    """One slot's stream of the single env: the rows :class:`SlotStreams` yields for a slot
    seeded alike, as tuples of Python floats (a block is drawn and converted at once).

    :param width: doubles per draw
    :param spawn_key: as for :class:`SlotStreams`
    :param block: rows drawn per refill
    """

    def __init__(self, width: int, spawn_key: tuple[int, ...] = (), block: int = 64) -> None:
        self.width = width
        self.spawn_key = spawn_key
        self.block = block
        self._gen: np.random.Generator | None = None
        self._rows: list[tuple[float, ...]] = []
        self._next = 0

    @property
    def seeded(self) -> bool:
        """Whether :meth:`seed` was called."""
        return self._gen is not None

    def seed(self, seed: int) -> None:
        """Reseed from ``seed``; buffered draws are discarded."""
        self._gen = slot_generator(seed, self.spawn_key)
        self._rows, self._next = [], 0

    def draw(self) -> tuple[float, ...]:
        """The next row of ``width`` U[0, 1) doubles."""
        if self._next >= len(self._rows):
            if self._gen is None:
                raise RuntimeError("SlotStream.draw before seed(); call reset() first")
            block = self._gen.random((self.block, self.width))
            self._rows, self._next = [tuple(row) for row in block.tolist()], 0
        row = self._rows[self._next]
        self._next += 1
        return row

    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue the stream exactly (for checkpoints)."""
        gen = None if self._gen is None else self._gen.bit_generator.state
        return {"gen": gen, "rows": list(self._rows), "next": self._next}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self._gen = None
        if state["gen"] is not None:
            self._gen = np.random.Generator(np.random.PCG64())
            self._gen.bit_generator.state = state["gen"]
        self._rows = [tuple(row) for row in state["rows"]]
        self._next = int(state["next"])
