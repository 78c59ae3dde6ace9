"""The meta-policy's encoders (SB3 features extractor, history encoders)."""

from __future__ import annotations

from mtml_rl.policies.extractor import LATENT_INPUTS, MetaExtractor
from mtml_rl.policies.history import HISTORY_ARCHS, HistoryEncoder

__all__ = ["HISTORY_ARCHS", "LATENT_INPUTS", "HistoryEncoder", "MetaExtractor"]
