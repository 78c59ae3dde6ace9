"""``history``: ``z = HistoryEncoder(last H transitions)``, trained end to end with the policy."""

from __future__ import annotations

from mtml_rl.methods.meta import MetaMethod

HISTORY = MetaMethod(
    name="history",
    summary="z = HistoryEncoder(last H transitions), trained end to end",
    report_order=10,
    latent_input="history",
    uses_history=True,
)
