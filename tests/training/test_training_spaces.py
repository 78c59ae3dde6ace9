"""A run meets the observations its family presents now, or is refused in one message.

A run records its spec, not its family's code: when the family's observations change (a new
version of the family, a Gymnasium upgrade), loading or resuming the run names the change
instead of failing inside the policy, and writes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from training_helpers import CARTPOLE, ConfigFactory, file_hashes

import mtml_rl
from mtml_rl.envs.rl2 import rl2_observation_space
from mtml_rl.errors import CheckpointError, ConfigError
from mtml_rl.training import Run, resume, train
from mtml_rl.training.method import Method
from mtml_rl.training.registry import get_method
from mtml_rl.training.spaces import check_presented, describe, expected_spaces, space_shapes

FIVE = spaces.Box(-np.inf, np.inf, shape=(5,), dtype=np.float32)


def widen_cartpole_observations(monkeypatch: pytest.MonkeyPatch) -> None:
    """CartPole's family now says it presents five values instead of four."""
    family = type(mtml_rl.resolve_spec(CARTPOLE).family_cls())
    monkeypatch.setattr(family, "observation_space", lambda self: FIVE)


@pytest.mark.parametrize("method", ["oracle", "rl2"])
def test_a_run_meets_the_spaces_its_method_trains_on_now(config: ConfigFactory, method: str) -> None:
    run = train(config(method=method, timesteps=256), progress=False)
    observations, actions = expected_spaces(run.config, run.spec)
    assert space_shapes(observations) == space_shapes(run.model.observation_space)
    assert space_shapes(actions) == space_shapes(run.model.action_space) == ("Discrete", 2)


def test_a_run_whose_family_presents_other_observations_is_refused_on_load_and_resume(
    config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = train(config(method="oracle", timesteps=256), progress=False)
    before = file_hashes(run.path)
    widen_cartpole_observations(monkeypatch)
    for attempt in (lambda: Run.load(run.path), lambda: resume(run.path, timesteps=512, progress=False)):
        with pytest.raises(CheckpointError) as caught:
            attempt()
        message = str(caught.value)
        assert "the family 'cartpole' of mtml/CartPole-v0 presents other observations" in message
        assert (
            "Dict(context: Box(2,), obs: Box(4,)) then, Dict(context: Box(2,), obs: Box(5,)) now" in message
        )
        assert "versions.json" in message
    assert file_hashes(run.path) == before


def test_a_method_whose_wrapper_presents_what_it_does_not_say_is_refused(config: ConfigFactory) -> None:
    plain = Method(name="plain-wrapper")
    four = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
    action = spaces.Discrete(2)
    check_presented(plain, config(), four, four, action)
    with pytest.raises(
        ConfigError, match=r"presents observations Box\(5,\), but its observation_space says Box\(4,\)"
    ):
        check_presented(plain, config(), FIVE, four, action)
    rl2 = get_method("rl2")
    check_presented(rl2, config(method="rl2"), rl2_observation_space(four, action), four, action)


@pytest.mark.parametrize(
    ("space", "shapes", "words"),
    [
        (spaces.Discrete(3), ("Discrete", 3), "Discrete(3)"),
        (FIVE, ("Box", (5,)), "Box(5,)"),
        (
            spaces.Dict({"obs": FIVE, "context": spaces.Discrete(2)}),
            {"obs": ("Box", (5,)), "context": ("Discrete", 2)},
            "Dict(context: Discrete(2), obs: Box(5,))",
        ),
    ],
)
def test_spaces_are_compared_by_what_a_policy_is_built_for(space: Any, shapes: Any, words: str) -> None:
    assert space_shapes(space) == shapes
    assert describe(space) == words
    wider = spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)  # other bounds, same policy
    assert space_shapes(wider) == space_shapes(FIVE)
