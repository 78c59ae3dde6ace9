"""Taking a file out of a folder's manifest: the folder still verifies, and a reader trusts
only what the manifest lists (the file itself is deleted after, by the caller)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtml_rl.io import InputFileError, lists_file, manifest_problem, unlist_file, write_manifest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, data in (("model.zip", b"model"), ("buffer.pkl", b"buffer" * 100)):
        (tmp_path / name).write_bytes(data)
    write_manifest(tmp_path)
    return tmp_path


def test_an_unlisted_file_is_not_vouched_for_and_the_folder_still_verifies(folder: Path) -> None:
    assert lists_file(folder, "buffer.pkl")
    unlist_file(folder, "buffer.pkl")
    assert not lists_file(folder, "buffer.pkl") and lists_file(folder, "model.zip")
    assert manifest_problem(folder) is None  # the file is still there: a kill before its deletion
    (folder / "buffer.pkl").unlink()
    assert manifest_problem(folder) is None


def test_unlisting_a_file_the_manifest_does_not_list_changes_nothing(folder: Path) -> None:
    before = (folder / "manifest.json").read_bytes()
    unlist_file(folder, "other.pkl")
    assert (folder / "manifest.json").read_bytes() == before


def test_a_damaged_manifest_lists_nothing_and_is_left_as_it_is(folder: Path) -> None:
    (folder / "manifest.json").write_text("{")
    assert not lists_file(folder, "buffer.pkl")
    with pytest.raises(InputFileError, match="not valid JSON"):
        unlist_file(folder, "buffer.pkl")
    assert (folder / "manifest.json").read_text() == "{"
