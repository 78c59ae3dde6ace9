"""``dr``: domain randomization, a context-blind policy trained across the train split."""

from __future__ import annotations

from mtml_rl.methods.meta import MetaMethod

DR = MetaMethod(
    name="dr",
    summary="domain randomization: a context-blind policy trained across the train split",
    report_order=40,
    gap_end="blind",
)
