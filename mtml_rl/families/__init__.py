"""Parameterized environment families, each with one pure batched dynamics function."""

from __future__ import annotations

from mtml_rl.families.base import Family, StepOutput
from mtml_rl.families.registry import family_names, get_family

__all__ = ["Family", "StepOutput", "family_names", "get_family"]
