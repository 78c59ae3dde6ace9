"""The meta-policy's shared encoder: an SB3 features extractor ``[ObsEncoder(o), z]``.

What feeds the task latent ``z`` is the method's choice, its ``latent_input``:

- ``None``: nothing (``dr``: context-blind domain randomization; features are ``ObsEncoder(o)``);
- ``"context"``: ``z = EnvEncoder(true context)`` (``oracle``, the privileged upper bound, and
  phase 1 of ``adapt``, whose ``z`` is replaced at deployment by the adaptation module's
  estimate: see :meth:`MetaExtractor.set_latent_source`);
- ``"history"``: ``z = HistoryEncoder(last H transitions)``, trained end to end (``history``);
- ``"task_id"``: ``z = E · task id``, a learned embedding of the one-hot task id (the context
  entries ``task_id_index``, the categorical parameters' blocks), nothing else of the context
  read (``onehot``: MT-SAC/MT-PPO's one-hot conditioning).

It is handed to SB3 through ``policy_kwargs={"features_extractor_class": MetaExtractor,
"features_extractor_kwargs": {...}}``; no SB3 algorithm is subclassed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from mtml_rl.policies.history import DEFAULT_HIDDEN, HistoryEncoder, mlp

LATENT_INPUTS: tuple[str | None, ...] = (None, "context", "history", "task_id")
"""What can feed ``z``: nothing, the ``context`` entry, the ``history`` entry or the task id
(the one-hot entries of the ``context``)."""

LatentSource = Callable[[dict[str, th.Tensor]], th.Tensor]


def _box(space: spaces.Space, key: str) -> spaces.Box:
    if isinstance(space, spaces.Dict):
        if key not in space.spaces:
            raise ValueError(f"observation has no {key!r} entry (keys: {list(space.spaces)})")
        sub = space.spaces[key]
    else:
        if key != "obs":
            raise ValueError(f"observation is not a Dict, so it has no {key!r} entry")
        sub = space
    assert isinstance(sub, spaces.Box)
    return sub


class MetaExtractor(BaseFeaturesExtractor):
    """``features = [ObsEncoder(obs), z]`` with ``z`` from the observation entry ``latent_input``.

    :param observation_space: a Box (no latent) or a Dict with ``obs`` and, depending on
        the method, ``context`` and/or ``history``
    :param latent_input: the entry that feeds ``z``: ``"context"``, ``"history"`` or ``None``
        (no ``z``)
    :param obs_layers: hidden sizes of the observation encoder
    :param latent_dim: size of ``z``
    :param context_layers: hidden sizes of the context encoder
    :param history_len: ``H`` (needed to unflatten the history window)
    :param history_arch: ``mlp``, ``conv`` or ``gru``
    :param history_hidden: hidden width of the history encoder
    :param task_id_index: the context entries of the one-hot task id (``latent_input="task_id"``)
    :param history_tanh: squash the history encoder's ``z`` into ``[-1, 1]`` with a tanh, as the
        context encoder's (``False``: unbounded, as runs saved before this option)
    """

    task_id_index: th.Tensor
    """The context entries of the task id (a buffer; only with ``latent_input="task_id"``)."""

    def __init__(
        self,
        observation_space: spaces.Space,
        latent_input: str | None = None,
        obs_layers: Sequence[int] = (64,),
        latent_dim: int = 8,
        context_layers: Sequence[int] = (64,),
        history_len: int = 0,
        history_arch: str = "mlp",
        history_hidden: int = DEFAULT_HIDDEN,
        task_id_index: Sequence[int] = (),
        history_tanh: bool = False,
    ) -> None:
        super().__init__(observation_space, features_dim=1)
        if latent_input not in LATENT_INPUTS:
            raise ValueError(
                f"latent_input must be 'context', 'history', 'task_id' or None, got {latent_input!r}"
            )
        self.latent_input = latent_input
        self.is_dict = isinstance(observation_space, spaces.Dict)
        obs_dim = int(_box(observation_space, "obs").shape[0])
        self.obs_encoder = mlp([obs_dim, *obs_layers], nn.Tanh)
        self.latent_dim = latent_dim if latent_input else 0
        self.env_encoder: nn.Module | None = None
        self.history_encoder: HistoryEncoder | None = None
        self.history_tanh = history_tanh
        self.task_embedding: nn.Linear | None = None
        if latent_input == "task_id":
            if not task_id_index:
                raise ValueError(
                    "latent_input 'task_id' needs the context entries of the task id (task_id_index)"
                )
            self.register_buffer("task_id_index", th.as_tensor(list(task_id_index), dtype=th.long))
            self.task_embedding = nn.Linear(len(task_id_index), latent_dim, bias=False)
        if latent_input == "context":
            ctx_dim = int(_box(observation_space, "context").shape[0])
            self.env_encoder = nn.Sequential(
                mlp([ctx_dim, *context_layers], nn.ReLU),
                nn.Linear(context_layers[-1] if context_layers else ctx_dim, latent_dim),
                nn.Tanh(),
            )
        elif latent_input == "history":
            size = int(_box(observation_space, "history").shape[0])
            if history_len < 1 or size % history_len:
                raise ValueError(f"history_len={history_len} does not divide the history size {size}")
            self.history_encoder = HistoryEncoder(
                history_len, size // history_len, latent_dim, arch=history_arch, hidden=history_hidden
            )
        self._latent_source: LatentSource | None = None
        self._features_dim = self._dry_run(observation_space)

    def _dry_run(self, observation_space: spaces.Space) -> int:
        """Find the output size with one forward pass over a zero observation."""
        batch: dict[str, th.Tensor] | th.Tensor
        if isinstance(observation_space, spaces.Dict):
            batch = {k: th.zeros((1, *s.shape)) for k, s in observation_space.spaces.items() if s.shape}
        else:
            batch = th.zeros((1, *(observation_space.shape or ())))
        with th.no_grad():
            return int(self.forward(batch).shape[1])

    def set_latent_source(self, source: LatentSource | None) -> None:
        """Replace where ``z`` comes from (the adaptation module at deployment), or restore."""
        self._latent_source = source

    def latent(self, observations: dict[str, th.Tensor] | th.Tensor) -> th.Tensor | None:
        """The task latent ``z`` for a batch (``None`` without a latent input)."""
        if self._latent_source is not None:
            assert isinstance(observations, dict)
            return self._latent_source(observations)
        if self.env_encoder is not None:
            assert isinstance(observations, dict)
            return self.env_encoder(observations["context"])
        if self.history_encoder is not None:
            assert isinstance(observations, dict)
            z = self.history_encoder(observations["history"])
            return th.tanh(z) if self.history_tanh else z
        if self.task_embedding is not None:
            assert isinstance(observations, dict)
            return self.task_embedding(observations["context"][:, self.task_id_index])
        return None

    def forward(self, observations: dict[str, th.Tensor] | th.Tensor) -> th.Tensor:
        """``[ObsEncoder(obs), z]``."""
        obs = observations["obs"] if isinstance(observations, dict) else observations
        encoded = self.obs_encoder(obs)
        z = self.latent(observations)
        return encoded if z is None else th.cat([encoded, z], dim=1)
