"""Spec and split hashes of the built-in specs are pinned: results recorded against them stay
comparable (a change in the task model or the split drawing that moves them fails here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mtml_rl
from mtml_rl.specs import build_splits

PINNED = json.loads((Path(__file__).with_name("pinned_hashes.json")).read_text())


@pytest.mark.parametrize("spec_id", sorted(PINNED))
def test_builtin_spec_and_split_hashes_are_unchanged(spec_id: str) -> None:
    spec = mtml_rl.resolve_spec(spec_id)
    assert spec.content_hash() == PINNED[spec_id]["spec"]
    assert build_splits(spec).hashes() == PINNED[spec_id]["splits"]
