"""sb3-contrib's LSTM policies with one LSTM call per padded batch of sequences.

sb3-contrib's recurrent policy steps its LSTM one timestep at a time whenever a batch holds an
episode start, so that it can zero the state at that step. Its rollout buffer, though, cuts
the training minibatches into sequences at every episode start: an episode can start only at a
sequence's first step, and the padding after a sequence's end is marked as no start. Zeroing
the initial state of the sequences that start an episode and running the LSTM over the whole
padded batch at once then computes the same function (up to floating-point rounding) in one
call instead of one per timestep, forward and backward. That loop was most of ``rl2``'s
training time on CPU. A batch with an episode start after its first step (not produced by the
buffer) still goes through the per-step path, and so does every batch where the installed
sb3-contrib's ``_process_sequence`` is not one this module was written from
(:data:`REFERENCE_SOURCE_DIGESTS`): a release that changed how it lays out a batch keeps its
own code, slower and right.

This module needs sb3-contrib (the ``contrib`` extra); only the ``rl2`` method imports it.
"""

from __future__ import annotations

import functools

import torch as th
from sb3_contrib.common.recurrent.policies import (
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)
from torch import nn

from mtml_rl.sources import has_source

LstmStates = tuple[th.Tensor, th.Tensor]

REFERENCE_SOURCE_DIGESTS = frozenset(
    {
        "44245acfbbbb8a6a515d88ea92449e9dfd43502cd49f8391e0eff87956838f1f",  # sb3-contrib 2.4.0
        "bf15c8f9f4449b91887d696ac931e56e0974a53e3ee75605f56fbce072db4890",  # 2.5.0 to 2.7.1
        "aa617e180d34e719a99d305b3956db5abd7fb151e3c7306f3b011b6e822acd69",  # 2.8.0 to 2.9.2
    }
)
"""SHA-256 of the sources of sb3-contrib's ``RecurrentActorCriticPolicy._process_sequence``
that :func:`process_sequences` computes in one call (the same code, spelled three ways: type
hints and ``zip``'s strictness)."""


@functools.cache
def reference_matches() -> bool:
    """Whether the installed sb3-contrib's ``_process_sequence`` is one this module reproduces
    (``False`` also where it has no source to read)."""
    return has_source(RecurrentActorCriticPolicy._process_sequence, REFERENCE_SOURCE_DIGESTS)


def process_sequences(
    features: th.Tensor, lstm_states: LstmStates, episode_starts: th.Tensor, lstm: nn.LSTM
) -> tuple[th.Tensor, LstmStates]:
    """The LSTM over a batch of sequences, in one call where starts are only at the first step.

    :param features: ``(n_seq * length, features_dim)``, each sequence's steps in order
    :param lstm_states: ``(hidden, cell)``, each ``(n_layers, n_seq, hidden_size)``, the state
        before each sequence's first step
    :param episode_starts: ``(n_seq * length,)``, 1.0 where an episode starts (state zeroed)
    :param lstm: the LSTM to run
    :return: the outputs ``(n_seq * length, hidden_size)`` and the final states
    """
    n_seq = lstm_states[0].shape[1]
    starts = episode_starts.reshape((n_seq, -1))
    if not reference_matches() or (starts.shape[1] > 1 and bool(th.any(starts[:, 1:] != 0.0))):
        stepped = RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        return stepped  # type: ignore[return-value]  # sb3-contrib annotates its states as one tensor
    keep = (1.0 - starts[:, 0]).view(1, n_seq, 1)
    sequences = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
    output, states = lstm(sequences, (keep * lstm_states[0], keep * lstm_states[1]))
    return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), states


class SequenceLstmPolicy(RecurrentActorCriticPolicy):
    """sb3-contrib's ``MlpLstmPolicy`` with :func:`process_sequences` (same parameters, same
    function, one LSTM call per batch of sequences)."""

    _process_sequence = staticmethod(process_sequences)  # type: ignore[assignment]


class MultiInputSequenceLstmPolicy(RecurrentMultiInputActorCriticPolicy):
    """sb3-contrib's ``MultiInputLstmPolicy`` with :func:`process_sequences`."""

    _process_sequence = staticmethod(process_sequences)  # type: ignore[assignment]
