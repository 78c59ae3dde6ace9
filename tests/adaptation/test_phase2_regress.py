"""Phase 2's regression: full passes over the aggregated data, or a fixed number of samples
drawn from it (``Phase2Config.replay``), so that a round's cost does not grow with the data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch as th

from mtml_rl.adaptation.module import AdaptationModule
from mtml_rl.adaptation.orchestration import phase2_config
from mtml_rl.adaptation.phase2 import SLOTS, Phase2Config, phase2_slots, regress


class CountingAdam(th.optim.Adam):
    """Adam that counts its steps."""

    steps = 0

    def step(self, closure=None):  # type: ignore[no-untyped-def, override]
        self.steps += 1
        return super().step(closure)


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4 * 3)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)


@pytest.mark.parametrize(("samples", "expected_steps"), [(None, 2 * 3), (1000, 4), (256, 1)])
def test_regression_steps(samples: int | None, expected_steps: int) -> None:
    module = AdaptationModule(4, 3, 2, arch="mlp")
    optimizer = CountingAdam(module.parameters(), lr=1e-3)
    x, y = _data(600)
    before = [p.detach().clone() for p in module.parameters()]
    loss = regress(module, optimizer, x, y, 2, 256, th.Generator().manual_seed(0), samples)
    assert optimizer.steps == expected_steps
    assert np.isfinite(loss)
    assert any(not th.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_phase2_rolls_out_at_least_slots_wide() -> None:
    config = SimpleNamespace(
        adapt_timesteps=1000, adapt_iterations=2, adapt_epochs=1, history_arch="mlp", history_len=4, seed=0
    )
    run = SimpleNamespace(config=config, trial_episodes=1)
    assert phase2_config(run, 8).n_envs == 20  # type: ignore[arg-type]  # 1000 steps, 2 rounds of 25
    assert phase2_slots(8, 20_000, 10) == SLOTS
    assert phase2_slots(2 * SLOTS, 20_000, 10) == 2 * SLOTS
    assert phase2_slots(4, 256, 2) == 5
    assert phase2_slots(8, 256, 2) == 8
    assert Phase2Config(timesteps=1, n_envs=8).replay is not None
