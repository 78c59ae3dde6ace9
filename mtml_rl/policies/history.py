"""Encoders of the history window: the last ``H`` transitions ``(obs, action, reward)``.

The window arrives flat (``H * D`` values, oldest row first, see
:mod:`mtml_rl.envs.observation`). Three architectures are offered: an MLP over the
flattened window, a 1-D temporal convolution over time (as in RMA), and a GRU.
"""

from __future__ import annotations

import argparse

import torch as th
from torch import nn

HISTORY_ARCHS = ("mlp", "conv", "gru")
DEFAULT_HIDDEN = 64
"""The history encoders' hidden width (the convolution's channels) unless one is given."""


class EncoderNameError(ValueError, argparse.ArgumentTypeError):
    """A history encoder's name that is not ``ARCH`` or ``ARCH:WIDTH`` (a ``ValueError``; as an
    ``argparse`` type's error its message is what the command line prints)."""


def parse_encoder(name: str) -> tuple[str, int]:
    """An encoder named ``ARCH`` (at :data:`DEFAULT_HIDDEN`) or ``ARCH:WIDTH`` (``conv:32``)
    -> ``(arch, width)``; an :class:`EncoderNameError` saying what is expected for anything else."""
    arch, sep, width = name.partition(":")
    if arch not in HISTORY_ARCHS or (sep and not (width.isdigit() and int(width) > 0)):
        raise EncoderNameError(
            f"encoder {name!r}: expected ARCH or ARCH:WIDTH with ARCH one of {', '.join(HISTORY_ARCHS)} "
            "and WIDTH a positive integer (conv:32)"
        )
    return arch, int(width) if sep else DEFAULT_HIDDEN


def encoder_name(name: str) -> str:
    """``name``, checked by :func:`parse_encoder` (as an ``argparse`` type: a bad name is one
    line naming the expected form, and exit status 2)."""
    parse_encoder(name)
    return name


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
        self,
        history_len: int,
        row_dim: int,
        out_dim: int,
        arch: str = "mlp",
        hidden: int = DEFAULT_HIDDEN,
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
            return self.head(self.body(rows.transpose(1, 2)))
        _, last = self.body(rows)
        return self.head(last[-1])
