"""The meta-policy's encoders (SB3 features extractor, history encoders)."""

from __future__ import annotations

from mtml_rl.policies.extractor import METHOD_INPUTS, MetaExtractor
from mtml_rl.policies.history import HISTORY_ARCHS, HistoryEncoder

__all__ = ["HISTORY_ARCHS", "METHOD_INPUTS", "HistoryEncoder", "MetaExtractor"]
