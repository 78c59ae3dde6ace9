"""Training the meta-policy with SB3: config, methods, run directories, resume."""

from __future__ import annotations

from mtml_rl.training.config import METHODS, TrainConfig
from mtml_rl.training.train import Run, resume, train

__all__ = ["METHODS", "Run", "TrainConfig", "resume", "train"]
