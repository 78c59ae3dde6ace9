"""The ``fast_subset`` mark: which cases of a parametrized test ``make test-fast`` runs."""

from __future__ import annotations

import pytest
from fast_subset import in_subset

CASE = {"numpy_spec_id": "mtml/CartPole-v0", "algo": "ppo", "history_len": 0}


@pytest.mark.parametrize(
    ("subset", "kept"),
    [
        (({"numpy_spec_id": "mtml/CartPole-v0"},), True),
        (({"numpy_spec_id": "mtml/Pendulum-v0"},), False),
        (({"numpy_spec_id": ("mtml/Pendulum-v0", "mtml/CartPole-v0")},), True),
        (({"numpy_spec_id": "mtml/CartPole-v0", "algo": "sac"},), False),
        (({"algo": "sac"}, {"history_len": 0}), True),
        (({"history_len": [1, 2]},), False),
    ],
)
def test_a_case_is_kept_when_it_matches_every_parameter_of_one_entry(
    subset: tuple[dict[str, object], ...], kept: bool
) -> None:
    assert in_subset(CASE, subset) is kept
