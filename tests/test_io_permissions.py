"""Atomic writes give what they write the permissions a plain write would.

Each builds its file or folder under a temporary name made by :mod:`tempfile`, readable by
its owner alone (``0o600``, ``0o700``), and used to rename it into place as it was: a run, a grid's
report or a study's record written under a umask of ``0o022`` or ``0o002`` (a group sharing
results) could not be read by anyone but its owner, while the files SB3 and torch wrote
beside them could (found by hand: ``ls -l`` of a run showed ``config.yaml`` and ``final/``
private, ``final/model.zip`` readable).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtml_rl.io import atomic_dir, atomic_save, atomic_write_text, current_umask


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_the_umask_without_changing_it() -> None:
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], indirect=True, ids=["022", "002", "077"])
def test_a_new_file_or_folder_gets_what_the_umask_allows(tmp_path: Path, umask: int) -> None:
    atomic_write_text(tmp_path / "config.yaml", "a: 1\n")
    atomic_save(tmp_path / "model.zip", lambda path: path.write_bytes(b"model"))
    with atomic_dir(tmp_path / "final") as tmp:
        (tmp / "meta.json").write_text("{}")
    assert mode(tmp_path / "config.yaml") == 0o666 & ~umask
    assert mode(tmp_path / "model.zip") == 0o666 & ~umask
    assert mode(tmp_path / "final") == 0o777 & ~umask


@pytest.mark.parametrize("umask", [0o022], indirect=True, ids=["022"])
def test_a_replaced_file_or_folder_keeps_its_permissions(tmp_path: Path, umask: int) -> None:
    for name, permissions in (("config.yaml", 0o640), ("model.zip", 0o444)):
        (tmp_path / name).write_text("old")
        (tmp_path / name).chmod(permissions)
    (tmp_path / "final").mkdir()
    (tmp_path / "final").chmod(0o750)
    atomic_write_text(tmp_path / "config.yaml", "new")
    atomic_save(tmp_path / "model.zip", lambda path: path.write_bytes(b"new"))
    with atomic_dir(tmp_path / "final") as tmp:
        (tmp / "meta.json").write_text("{}")
    assert (tmp_path / "config.yaml").read_text() == "new"
    assert (tmp_path / "model.zip").read_bytes() == b"new"
    assert [mode(tmp_path / n) for n in ("config.yaml", "model.zip", "final")] == [0o640, 0o444, 0o750]


@pytest.mark.parametrize("umask", [0o002], indirect=True, ids=["002"])
def test_a_folder_in_a_shared_set_group_id_folder_keeps_the_bit(tmp_path: Path, umask: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o2775)
    if not shared.stat().st_mode & stat.S_ISGID:
        pytest.skip("this file system does not keep a folder's set-group-ID bit")
    (shared / "made-by-mkdir").mkdir()
    with atomic_dir(shared / "final") as tmp:
        (tmp / "meta.json").write_text("{}")
    assert mode(shared / "final") == mode(shared / "made-by-mkdir") == 0o2775


@pytest.mark.parametrize("umask", [0o022], indirect=True, ids=["022"])
def test_a_file_replaced_by_a_folder_does_not_give_it_its_permissions(tmp_path: Path, umask: int) -> None:
    """A file's ``0o644`` on a folder would leave it without the right to enter it."""
    (tmp_path / "final").write_text("a file")
    with atomic_dir(tmp_path / "final") as tmp:
        (tmp / "meta.json").write_text("{}")
    assert mode(tmp_path / "final") == 0o755 and (tmp_path / "final" / "meta.json").is_file()
