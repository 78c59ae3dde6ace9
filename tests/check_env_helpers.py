"""Gymnasium's and SB3's environment checkers with warnings as errors, for every kind of env.

The only warnings the checkers may raise on mtml-rl's environments are the two that
Gymnasium's own environment tests ignore (``tests/envs/test_envs.py``,
``CHECK_ENV_IGNORE_WARNINGS``): unbounded Box observations. Velocities (CartPole, as in
Gymnasium's CartPole-v1), MuJoCo observations (as in Gymnasium's v5 environments), object
positions (as in Meta-World's own observation space) and history entries are unbounded.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

ALLOWED_WARNINGS = (
    r".*A Box observation space minimum value is -infinity",
    r".*A Box observation space maximum value is infinity",
)


@contextmanager
def warnings_as_errors() -> Iterator[None]:
    """Turn every warning into an error except :data:`ALLOWED_WARNINGS`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pattern in ALLOWED_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        yield
