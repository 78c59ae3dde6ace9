"""``adapt`` on CartPole: the module infers the task, and the deployed agent transfers.

At a small budget (40k phase-1 steps, 20k phase-2 steps, seed 0, the default ``conv``
encoder) the adaptation module's latent error on the training tasks must fall well
below that of predicting the mean latent, and the deployed agent (acting with ``ẑ``,
context withheld) must beat ``dr`` trained at the same budget on the held-out
interpolation tasks. The margins are far
inside what seeds 0 to 4 all showed (``docs/adaptation.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adaptation_helpers import deployed_agent, mean_return, transfer_config

from mtml_rl.adaptation.module import MODULE_FILE, AdaptationModule
from mtml_rl.adaptation.phase2 import split_latent_error
from mtml_rl.agents.policy import AdaptAgent, PolicyAgent
from mtml_rl.specs.splits import build_splits
from mtml_rl.training import Run, train

pytestmark = pytest.mark.slow

LATENT_RATIO = 0.6
"""The module's latent error must be below this fraction of the mean latent's (seeds 0-4: 0.10-0.29)."""
RETURN_MARGIN = 50.0
"""``adapt`` must beat ``dr`` on interpolation by this much return (seeds 0-4: 123 to 424)."""
GAP_CLOSED = 0.5
"""Share of the ``dr``-to-oracle gap ``adapt`` must close on interpolation (seeds 0-4: 0.90 to 1.05)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """``dr`` and ``adapt`` trained at the transfer budget (the adapt run's phase 1 is the oracle)."""
    root: Path = tmp_path_factory.mktemp("transfer")
    return {m: train(transfer_config(root / m, m), progress=False) for m in ("dr", "adapt")}


def test_module_latent_error_is_below_the_mean_latents(runs: dict[str, Run]) -> None:
    run = runs["adapt"]
    module = AdaptationModule.load(run.path / "final" / MODULE_FILE)
    tasks = list(build_splits(run.spec)["train"].tasks)
    errors = split_latent_error(
        run.model, run.normalizer, module, run.spec, tasks, run.config.history_len, seed=7
    )
    assert errors.module < LATENT_RATIO * errors.mean_latent, errors


def test_adaptation_json_reports_every_split(runs: dict[str, Run]) -> None:
    run = runs["adapt"]
    report = json.loads((run.path / "final" / "adaptation.json").read_text())
    assert set(report["latent_errors"]) == set(build_splits(run.spec))
    train_errors = report["latent_errors"]["train"]
    assert train_errors["latent_error"] < LATENT_RATIO * train_errors["mean_latent_error"]
    assert report["phase2"]["timesteps"] == run.config.adapt_timesteps


def test_deployed_adapt_beats_dr_on_interpolation(runs: dict[str, Run]) -> None:
    adapt, dr = deployed_agent(runs["adapt"]), deployed_agent(runs["dr"])
    assert isinstance(adapt, AdaptAgent)
    assert adapt.requirements.context == "hidden"
    spec = runs["adapt"].spec
    adapt_return = mean_return(adapt, spec, "test-interpolation")
    dr_return = mean_return(dr, spec, "test-interpolation")
    oracle_return = mean_return(PolicyAgent(runs["adapt"]), spec, "test-interpolation")
    assert adapt_return > dr_return + RETURN_MARGIN, (adapt_return, dr_return)
    closed = (adapt_return - dr_return) / (oracle_return - dr_return)
    assert closed > GAP_CLOSED, (adapt_return, dr_return, oracle_return)
