"""The ``conv`` history encoder, computed as matrix products over unfolded windows, is the
same function with the same parameters as its ``Conv1d`` layers applied as modules."""

from __future__ import annotations

import pytest
import torch as th

from mtml_rl.policies.history import HistoryEncoder

ROW_DIM, OUT_DIM, BATCH = 7, 8, 33


@pytest.mark.parametrize("history_len", [1, 2, 5, 16])
def test_conv_encoder_matches_its_conv1d_layers(history_len: int) -> None:
    th.manual_seed(0)
    encoder = HistoryEncoder(history_len, ROW_DIM, OUT_DIM, arch="conv", hidden=16)
    history = th.randn(BATCH, history_len * ROW_DIM)
    as_modules = history.clone().requires_grad_(True)
    rows = as_modules.reshape(BATCH, history_len, ROW_DIM).transpose(1, 2)
    expected = encoder.head(encoder.body(rows))
    (expected**2).sum().backward()
    expected_grads = [p.grad.clone() for p in encoder.parameters() if p.grad is not None]
    encoder.zero_grad()
    unfolded = history.clone().requires_grad_(True)
    output = encoder(unfolded)
    (output**2).sum().backward()
    assert output.shape == (BATCH, OUT_DIM)
    assert th.allclose(output, expected, atol=1e-6)
    assert unfolded.grad is not None and as_modules.grad is not None
    assert th.allclose(unfolded.grad, as_modules.grad, atol=1e-6)
    grads = [p.grad for p in encoder.parameters() if p.grad is not None]
    assert len(grads) == len(expected_grads) == 6
    assert all(th.allclose(g, e, atol=1e-5) for g, e in zip(grads, expected_grads, strict=True))
