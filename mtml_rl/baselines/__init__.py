"""Baselines with their own policy or deployment: ``rl2`` and ``finetune``.

``dr``, ``oracle`` and ``history`` are meta-policy methods (:mod:`mtml_rl.training`);
the two here need more than a features extractor: RL² a recurrent policy over trials of
several episodes (:mod:`mtml_rl.baselines.rl2`), fine-tuning a training step per test
task at evaluation (:mod:`mtml_rl.baselines.finetune`).
"""

from __future__ import annotations
