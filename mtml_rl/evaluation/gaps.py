"""What a comparison can show: the gap between the context-blind method and the privileged
reference, the share of it every other method closes, and the two caveats that make such
shares meaningless.

- **The gap.** The blind end is the method whose ``gap_end`` is ``"blind"`` (``dr``), the
  privileged end the one whose ``gap_end`` is ``"privileged"`` (the oracle). A method closes
  ``(R_method − R_blind) / (R_privileged − R_blind)`` of it, in mean raw return: 0 is the blind
  method's return, 1 the oracle's.
- **No meaningful gap.** Where the blind method already scores (nearly) as well as the
  oracle, adaptation has nothing to win and every share is noise: flagged when the gap in
  normalized mean score is below :data:`NO_GAP_MARGIN` or the blind method's interval reaches
  the oracle's point estimate.
- **An oracle below its solved level.** Normalized scores are measured against the oracle;
  where it falls short of its family's documented solved level (the family's
  ``solved_level``, :mod:`~mtml_rl.evaluation.references`) on tasks inside the train ranges
  (:data:`SOLVED_SPLITS`), they measure against an undertrained reference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from mtml_rl.evaluation.labels import label_rank, method_for_label
from mtml_rl.evaluation.results import Aggregate, Results

NO_GAP_MARGIN = 0.1
"""The smallest blind-to-privileged gap in normalized mean score (a tenth of the oracle's
margin over random) that counts as a gap adaptation can close."""
SOLVED_SPLITS = ("train", "test-interpolation", "test-combinatorial")
"""Splits whose tasks lie inside the train ranges (every parameter value seen in training),
where the oracle should reach the family's solved level; extrapolation tasks lie outside and
may be harder by construction."""


def share_of_gap(value: float, blind: float, privileged: float) -> float | None:
    """``(value − blind) / (privileged − blind)``; ``None`` where the privileged end does not
    beat the blind one (no gap to close).

    :param value: the method's mean return
    :param blind: the context-blind method's mean return
    :param privileged: the privileged reference's mean return
    """
    gap = privileged - blind
    return (value - blind) / gap if gap > 0 else None


def gap_end_labels(labels: list[str]) -> tuple[str, str] | None:
    """The labels standing for the gap's ends among ``labels`` (blind, privileged), by their
    methods' ``gap_end``; ``None`` unless both are there."""
    ends: dict[str, str] = {}
    for label in labels:
        method = method_for_label(label)
        if method is not None and method.gap_end is not None:
            ends.setdefault(method.gap_end, label)
    if "blind" in ends and "privileged" in ends:
        return ends["blind"], ends["privileged"]
    return None


@dataclass(frozen=True)
class GapRow:
    """The gap on one (spec, split) and the share of it each method closes.

    :param spec: the spec id
    :param split: the split
    :param blind: the context-blind method's aggregate
    :param privileged: the privileged reference's aggregate
    :param shares: every other method's label and its share (``None``: no gap to close)
    """

    spec: str
    split: str
    blind: Aggregate
    privileged: Aggregate
    shares: dict[str, float | None]

    @property
    def gap(self) -> float:
        """The gap in mean raw return."""
        return self.privileged.mean_return - self.blind.mean_return

    @property
    def meaningful(self) -> bool:
        """Whether the gap in normalized mean score is clear (see the module's docstring)."""
        low, high = self.blind.mean, self.privileged.mean
        return high.point - low.point >= NO_GAP_MARGIN and low.high < high.point


def gap_rows(results: Results) -> list[GapRow]:
    """A :class:`GapRow` per (spec, split) whose aggregates hold both ends of the gap."""
    grouped: dict[tuple[str, str], dict[str, Aggregate]] = defaultdict(dict)
    for a in results.aggregates:
        grouped[(a.spec, a.split)][a.label] = a
    order = {s: i for i, s in enumerate(results.protocol.splits)}
    rows = []
    keys = sorted(grouped, key=lambda key: (key[0], order.get(key[1], len(order))))
    for spec, split in keys:
        by_label = grouped[(spec, split)]
        ends = gap_end_labels(list(by_label))
        if ends is None:
            continue
        blind, privileged = by_label[ends[0]], by_label[ends[1]]
        others = sorted((label for label in by_label if label not in ends), key=label_rank)
        shares = {
            label: share_of_gap(by_label[label].mean_return, blind.mean_return, privileged.mean_return)
            for label in others
        }
        rows.append(GapRow(spec, split, blind, privileged, shares))
    return rows


@dataclass(frozen=True)
class BelowSolved:
    """An oracle whose mean return on a split falls below its family's solved level.

    :param spec: the spec id
    :param split: the split
    :param oracle_return: the oracle's mean return over the split's tasks
    :param solved_return: the solved level
    """

    spec: str
    split: str
    oracle_return: float
    solved_return: float


def oracle_below_solved(results: Results) -> list[BelowSolved]:
    """The (spec, split) pairs of :data:`SOLVED_SPLITS` where the oracle evaluated alongside
    scores below its family's solved level (on the mean over the split's tasks)."""
    grouped: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for t in results.tasks:
        if t.split in SOLVED_SPLITS and t.oracle_return is not None and t.solved_return is not None:
            grouped[(t.spec, t.split)].append((t.oracle_return, t.solved_return))
    out = []
    for (spec, split), pairs in sorted(grouped.items()):
        oracle, solved = (float(np.mean(v)) for v in zip(*pairs, strict=True))
        if oracle < solved:
            out.append(BelowSolved(spec, split, oracle, solved))
    return out
