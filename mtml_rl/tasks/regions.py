"""Regions of parameter space: closed intervals and finite unions of them for numeric
parameters, finite sets of names for categorical ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A closed interval ``[low, high]`` of one parameter's values."""

    low: float
    high: float

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def contains(self, value: float) -> bool:
        """Whether ``low <= value <= high``."""
        return self.low <= value <= self.high

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share more than an end point."""
        return min(self.high, other.high) > max(self.low, other.low)

    def as_list(self) -> list[float]:
        """``[low, high]`` (for YAML and JSON)."""
        return [self.low, self.high]


@dataclass(frozen=True)
class Region:
    """A finite union of closed intervals of one parameter."""

    intervals: tuple[Interval, ...]

    @property
    def low(self) -> float:
        """The smallest value in the region."""
        return min(i.low for i in self.intervals)

    @property
    def high(self) -> float:
        """The largest value in the region."""
        return max(i.high for i in self.intervals)

    @property
    def measure(self) -> float:
        """Total width of the intervals."""
        return sum(i.width for i in self.intervals)

    def contains(self, value: float) -> bool:
        """Whether any interval contains ``value``."""
        return any(i.contains(value) for i in self.intervals)

    def sample(self, rng: np.random.Generator) -> float:
        """Draw uniformly from the union (intervals weighted by their width)."""
        widths = np.array([i.width for i in self.intervals], dtype=np.float64)
        if widths.sum() == 0.0:
            chosen = self.intervals[int(rng.integers(len(self.intervals)))]
            return chosen.low
        k = int(rng.choice(len(self.intervals), p=widths / widths.sum()))
        chosen = self.intervals[k]
        return float(rng.uniform(chosen.low, chosen.high))

    def as_list(self) -> list[list[float]]:
        """``[[low, high], ...]`` (for YAML and JSON)."""
        return [i.as_list() for i in self.intervals]


@dataclass(frozen=True)
class ValueSet:
    """A finite set of values of one categorical parameter (a region of names).

    :param values: the names, in the order the spec lists them
    """

    values: tuple[str, ...]

    @property
    def measure(self) -> float:
        """The number of values."""
        return float(len(self.values))

    def contains(self, value: object) -> bool:
        """Whether ``value`` is one of the names."""
        return value in self.values

    def sample(self, rng: np.random.Generator) -> str:
        """Draw one name uniformly."""
        return self.values[int(rng.integers(len(self.values)))]

    def as_list(self) -> list[str]:
        """The names (for YAML and JSON)."""
        return list(self.values)
