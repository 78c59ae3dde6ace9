"""Permissions of what the package writes: what ``open`` and ``mkdir`` give under the umask."""

from __future__ import annotations

import stat
from pathlib import Path

from mtml_rl.io import current_umask


def unexpected_modes(folder: Path) -> list[str]:
    """Every file or folder under ``folder`` (``folder`` included) whose permission bits are not
    those a plain ``open`` (``0o666``) or ``mkdir`` (``0o777``) gives under the process's umask,
    as ``"<mode> <path>"`` (lock files are files like the others)."""
    umask = current_umask()
    found = []
    for path in [folder, *sorted(folder.rglob("*"))]:
        if path.is_symlink():
            continue
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        mode = stat.S_IMODE(path.stat().st_mode) & 0o777
        if mode != expected:
            found.append(f"{mode:o} {path.relative_to(folder.parent)} (expected {expected:o})")
    return found
