"""The CLI starts without torch: ``mtml-rl --help``, ``mtml-rl list`` (which describes every
method, so imports every built-in method object) and ``mtml-rl list SPEC`` import neither
torch nor Stable-Baselines3 (a command imports them when it trains, evaluates or loads a run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "stable_baselines3", "sb3_contrib")

CHILD = f"""
import contextlib, io, sys
from mtml_rl.cli.main import build_parser, main
for command in ("train", "evaluate", "compare", "benchmark", "quickstart"):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        build_parser().parse_args([command, "--help"])
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["list", "mtml/CartPole-v0"]) == 0
listing = io.StringIO()
with contextlib.redirect_stdout(listing):
    assert main(["list"]) == 0
assert "unavailable" not in listing.getvalue(), listing.getvalue()
print(sorted(name for name in {HEAVY!r} if name in sys.modules))
"""


@pytest.mark.slow
def test_help_and_listings_import_neither_torch_nor_sb3() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"imported at start-up: {done.stdout.strip()}"
