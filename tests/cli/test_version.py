"""``mtml-rl --version``: the package's version as installed, and the versions of what a
result depends on, in one line."""

from __future__ import annotations

from importlib import metadata

import pytest

from mtml_rl.cli import main


def test_version_names_the_installed_package_and_its_dependencies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal does not wrap it
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith(f"mtml-rl {metadata.version('mtml-rl')} (Python ")  # __version__ is the package's
    for name in ("gymnasium", "stable-baselines3", "torch", "numpy"):
        assert f"{name} {metadata.version(name)}" in out
