"""The optimizers of an SB3 model, switched to torch's multi-tensor (``foreach``) updates.

On a CPU torch's optimizers default to updating one parameter tensor at a time: a small
meta-policy network (an observation encoder, a context or history encoder, the actor's and
the critic's layers) then pays a few dozen tiny kernel launches per gradient step. The
``foreach`` implementation does the same arithmetic, in the same order, on all of them at
once: the updates are bit-identical (``tests/training/test_optim.py``) and cheaper.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm


def model_optimizers(model: BaseAlgorithm) -> Iterator[th.optim.Optimizer]:
    """Every optimizer of ``model``: those its policy's modules own (``optimizer`` attributes:
    the actor-critic's, SAC's and TD3's actor and critic), and the algorithm's own (SAC's
    entropy coefficient)."""
    for module in model.policy.modules():
        optimizer = getattr(module, "optimizer", None)
        if isinstance(optimizer, th.optim.Optimizer):
            yield optimizer
    for value in vars(model).values():
        if isinstance(value, th.optim.Optimizer):
            yield value


def use_foreach_updates(model: BaseAlgorithm) -> None:
    """Let every optimizer of ``model`` that has not chosen an implementation (``foreach`` and
    ``fused`` unset, as SB3 builds them) update its parameters with torch's ``foreach`` code.

    :param model: a freshly built or loaded SB3 model
    """
    for optimizer in model_optimizers(model):
        for group in optimizer.param_groups:
            if "foreach" in group and group["foreach"] is None and not group.get("fused"):
                group["foreach"] = True
