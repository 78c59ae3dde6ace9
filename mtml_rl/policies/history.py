"""Encoders of the history window: the last ``H`` transitions ``(obs, action, reward)``.

The window arrives flat (``H * D`` values, oldest row first, see
:mod:`mtml_rl.envs.observation`). Three architectures are offered: an MLP over the
flattened window, a 1-D temporal convolution over time (as in RMA), and a GRU.
"""

from __future__ import annotations

from typing import cast

import torch as th
from torch import nn

HISTORY_ARCHS = ("mlp", "conv", "gru")


def mlp(
    sizes: list[int], activation: type[nn.Module] = nn.ReLU, last_activation: bool = True
) -> nn.Sequential:
    """A plain MLP with ``activation`` between layers (and after the last one if asked)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


class HistoryEncoder(nn.Module):
    """Maps a flat history window to a vector of ``out_dim`` values.

    :param history_len: ``H``, transitions in the window
    :param row_dim: ``D``, values per transition
    :param out_dim: output size
    :param arch: ``mlp``, ``conv`` or ``gru``
    :param hidden: hidden width
    """

    def __init__(
        self, history_len: int, row_dim: int, out_dim: int, arch: str = "mlp", hidden: int = 64
    ) -> None:
        super().__init__()
        if arch not in HISTORY_ARCHS:
            raise ValueError(f"unknown history encoder {arch!r}; choose one of {', '.join(HISTORY_ARCHS)}")
        sizes = {"history_len": history_len, "row_dim": row_dim, "out_dim": out_dim, "hidden": hidden}
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.history_len = history_len
        self.row_dim = row_dim
        self.arch = arch
        if arch == "mlp":
            self.body: nn.Module = mlp([history_len * row_dim, hidden, hidden], nn.ReLU)
            body_out = hidden
        elif arch == "conv":
            self.body = nn.Sequential(
                nn.Conv1d(row_dim, hidden, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv1d(hidden, hidden, kernel_size=3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool1d(1),
                nn.Flatten(),
            )
            body_out = hidden
        else:
            self.body = nn.GRU(row_dim, hidden, batch_first=True)
            body_out = hidden
        self.head = nn.Linear(body_out, out_dim)

    def forward(self, history: th.Tensor) -> th.Tensor:
        """``(B, H * D)`` -> ``(B, out_dim)``."""
        if self.arch == "mlp":
            return self.head(self.body(history))
        rows = history.reshape(history.shape[0], self.history_len, self.row_dim)
        if self.arch == "conv":
            return self.head(temporal_conv(cast(nn.Sequential, self.body), rows))
        _, last = self.body(rows)
        return self.head(last[-1])


def temporal_conv(body: nn.Sequential, rows: th.Tensor) -> th.Tensor:
    """The ``conv`` body over ``(B, H, D)`` rows, each convolution as one matrix product.

    Each output step of a ``Conv1d`` with kernel 3 and padding 1 is a linear map of the three
    padded input rows around it; taking those windows with ``unfold`` and applying the
    convolution's own weight as a ``Linear`` computes the same outputs (up to floating-point
    rounding) with the same parameters, in about half the time of ``Conv1d`` at a policy's
    batch sizes on a CPU. Then ReLU, and the mean over time (``AdaptiveAvgPool1d(1)``).

    :param body: the ``conv`` architecture's ``Sequential`` (conv, ReLU, conv, ReLU, pool, flatten)
    :param rows: ``(B, H, D)``
    :return: ``(B, hidden)``
    """
    out = rows
    for conv in (body[0], body[2]):
        assert isinstance(conv, nn.Conv1d)
        windows = nn.functional.pad(out, (0, 0, 1, 1)).unfold(1, 3, conv.stride[0])
        flat = windows.reshape(windows.shape[0], windows.shape[1], -1)
        out = th.relu(nn.functional.linear(flat, conv.weight.reshape(conv.out_channels, -1), conv.bias))
    return out.mean(dim=1)
