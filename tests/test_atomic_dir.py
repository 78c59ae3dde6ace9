"""A folder written with ``atomic_dir`` is the old one or the new one, never neither: replacing
it takes two renames (the old folder aside, the new one into place), and a failure or a kill
between them must not leave the path empty with the last whole version hidden or deleted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mtml_rl import io
from mtml_rl.io import atomic_dir, replaced_name, restore_replaced


def _folder(path: Path, text: str) -> None:
    path.mkdir(parents=True)
    (path / "model.zip").write_text(text)


def test_a_replacement_puts_the_new_folder_in_place_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "final"
    _folder(target, "old")
    with atomic_dir(target) as tmp:
        (tmp / "model.zip").write_text("new")
    assert (target / "model.zip").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


def test_a_failure_between_the_two_renames_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "final"
    _folder(target, "old")
    real_replace = os.replace

    def second_rename_fails(src: Any, dst: Any) -> None:
        if Path(src) != replaced_name(target) and Path(dst) == target:  # the new one into place
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", second_rename_fails)
    with pytest.raises(OSError, match="No space"), atomic_dir(target) as tmp:
        (tmp / "model.zip").write_text("new")
    assert (target / "model.zip").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


def test_a_folder_a_killed_writer_left_aside_is_put_back(tmp_path: Path) -> None:
    """What a kill between the renames leaves: no ``final``, the old one aside, the new one
    under its temporary name. The old one goes back, by itself or before the next write."""
    target = tmp_path / "final"
    _folder(replaced_name(target), "old")
    assert restore_replaced(target) and (target / "model.zip").read_text() == "old"
    assert not restore_replaced(target)  # nothing aside any more: nothing to do

    target.rename(replaced_name(target))
    with atomic_dir(target) as tmp:
        assert (target / "model.zip").read_text() == "old"  # put back before the new is built
        (tmp / "model.zip").write_text("new")
    assert (target / "model.zip").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]
