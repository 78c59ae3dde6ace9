"""Adaptation: the module ``ẑ = AdaptationModule(history)``, its phase-2 training by DAgger
with the policy frozen, the latent-error probe, and phase 2 of a trained ``adapt`` run."""

from __future__ import annotations

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule, acting_extractor, acting_with
from mtml_rl.adaptation.phase2 import LatentErrors, Phase2Config, train_adaptation
from mtml_rl.adaptation.probe import LatentProbe

__all__ = [
    "MODULE_FILE",
    "AdaptationModule",
    "LatentErrors",
    "LatentProbe",
    "Phase2Config",
    "acting_extractor",
    "acting_with",
    "train_adaptation",
]
