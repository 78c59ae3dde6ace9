"""The ``mtml-rl`` command line: ``list``, ``train`` and the other subcommands."""

from __future__ import annotations

from mtml_rl.cli.main import main

__all__ = ["main"]
