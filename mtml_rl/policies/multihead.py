"""A shared trunk with one output head per task (Meta-World's multi-head baselines), as an SB3
features extractor.

The trunk ``h = Trunk(obs)`` is shared by every task. The features are ``h`` placed in the
block of the current task id and zeros elsewhere (``onehot ⊗ h``), followed by the one-hot:
a linear layer on them, which is what SB3 puts on the features when ``net_arch`` is empty, is
``W_k h + b_k`` for task ``k``: one linear head per task. The task id is the one-hot block of
the observation's ``context`` (the entries ``task_id_index``); nothing else of the context is
read. No SB3 policy or algorithm is subclassed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from mtml_rl.policies.history import mlp


class MultiHeadExtractor(BaseFeaturesExtractor):
    """``[onehot ⊗ Trunk(obs), onehot]``: per-task blocks of a shared trunk's output.

    :param observation_space: a Dict with ``obs`` and ``context``
    :param task_id_index: the context entries of the one-hot task id
    :param trunk: hidden sizes of the shared trunk (its last size is a head's input)
    """

    task_id_index: th.Tensor
    """The context entries of the task id (a buffer)."""

    def __init__(
        self,
        observation_space: spaces.Space,
        task_id_index: Sequence[int] = (),
        trunk: Sequence[int] = (256, 256),
    ) -> None:
        if not isinstance(observation_space, spaces.Dict) or "context" not in observation_space.spaces:
            raise ValueError(
                "MultiHeadExtractor needs Dict observations with a 'context' entry (the task id)"
            )
        if not task_id_index or not trunk:
            raise ValueError(
                "MultiHeadExtractor needs the task id's context entries and at least one trunk layer"
            )
        obs_space = observation_space.spaces["obs"]
        assert isinstance(obs_space, spaces.Box)
        tasks, width = len(task_id_index), int(trunk[-1])
        super().__init__(observation_space, features_dim=tasks * width + tasks)
        self.register_buffer("task_id_index", th.as_tensor(list(task_id_index), dtype=th.long))
        self.trunk = mlp([int(obs_space.shape[0]), *map(int, trunk)], nn.ReLU)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """The trunk's output in the current task's block, then the one-hot."""
        onehot = observations["context"][:, self.task_id_index]
        hidden = self.trunk(observations["obs"])
        blocks = onehot.unsqueeze(2) * hidden.unsqueeze(1)
        return th.cat([blocks.flatten(1), onehot], dim=1)
