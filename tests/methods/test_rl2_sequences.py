"""rl2's LSTM over padded sequences in one call computes what sb3-contrib's per-step loop does,
and only where the installed sb3-contrib's loop is the one it was written from."""

from __future__ import annotations

from typing import Any

import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from torch import nn

from mtml_rl.methods.rl2 import RL2
from mtml_rl.policies import recurrent
from mtml_rl.policies.recurrent import (
    MultiInputSequenceLstmPolicy,
    SequenceLstmPolicy,
    process_sequences,
)
from mtml_rl.training import TrainConfig

N_SEQ, LENGTH, FEATURES, HIDDEN = 5, 7, 3, 4


def run_both(starts: th.Tensor) -> list[tuple[th.Tensor, th.Tensor]]:
    """Outputs, final states and input gradients of both paths on the same random batch."""
    lstm = nn.LSTM(FEATURES, HIDDEN)
    generator = th.Generator().manual_seed(0)
    features = th.randn(N_SEQ * LENGTH, FEATURES, generator=generator)
    states = tuple(th.randn(1, N_SEQ, HIDDEN, generator=generator) for _ in range(2))
    results = []
    for process in (RecurrentActorCriticPolicy._process_sequence, process_sequences):
        inputs = features.clone().requires_grad_(True)
        output, (hidden, cell) = process(inputs, (states[0], states[1]), starts.flatten(), lstm)
        (output.sum() + hidden.sum() + cell.sum()).backward()
        assert inputs.grad is not None
        results.append((th.cat([output.flatten(), hidden.flatten(), cell.flatten()]), inputs.grad))
    return results


@pytest.mark.parametrize("mid_start", [False, True], ids=["starts-first", "start-inside"])
def test_one_call_matches_the_per_step_loop(mid_start: bool) -> None:
    # Sequences as the rollout buffer cuts them: an episode starts at a sequence's first
    # step or not at all (a sequence cut by the minibatch or the rollout's end). With a start
    # inside a sequence the per-step path is taken.
    starts = th.zeros(N_SEQ, LENGTH)
    starts[[0, 2, 3], 0] = 1.0
    if mid_start:
        starts[1, 4] = 1.0
    (stepped, stepped_grad), (fused, fused_grad) = run_both(starts)
    assert th.allclose(fused, stepped, atol=1e-6)
    assert th.allclose(fused_grad, stepped_grad, atol=1e-6)


def test_rl2_trains_the_one_call_policies() -> None:
    config = TrainConfig(env="mtml/CartPole-v0", method="rl2")
    box = spaces.Box(-1.0, 1.0, (3,))
    assert RL2.policy(config, box, {}).name is SequenceLstmPolicy
    assert RL2.policy(config, spaces.Dict({"obs": box}), {}).name is MultiInputSequenceLstmPolicy


def _count_loop_calls(monkeypatch: pytest.MonkeyPatch, own: Any) -> list[Any]:
    """Wrap sb3-contrib's per-step loop (``own``) so that its calls are counted."""
    calls: list[Any] = []

    def counted(*args: Any) -> Any:
        calls.append(args)
        return own(*args)

    monkeypatch.setattr(RecurrentActorCriticPolicy, "_process_sequence", staticmethod(counted))
    return calls


def test_a_changed_sb3_contrib_loop_is_left_to_run_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    own = RecurrentActorCriticPolicy._process_sequence
    starts = th.zeros(N_SEQ, LENGTH)
    starts[[0, 2], 0] = 1.0  # starts only at a sequence's first step: the one-call path
    try:
        recurrent.reference_matches.cache_clear()
        assert recurrent.reference_matches()  # the installed loop is the one reproduced (cached)
        calls = _count_loop_calls(monkeypatch, own)
        run_both(starts)
        assert len(calls) == 1  # run_both's own call of the loop only
        monkeypatch.setattr(RecurrentActorCriticPolicy, "_process_sequence", staticmethod(own))
        monkeypatch.setattr(recurrent, "REFERENCE_SOURCE_DIGESTS", frozenset({"0" * 64}))  # as a changed loop
        recurrent.reference_matches.cache_clear()
        assert not recurrent.reference_matches()
        calls = _count_loop_calls(monkeypatch, own)
        (stepped, _), (fused, _) = run_both(starts)
        assert len(calls) == 2  # process_sequences handed the batch to the loop
        assert th.equal(fused, stepped)
    finally:
        recurrent.reference_matches.cache_clear()
