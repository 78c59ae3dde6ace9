"""The built-in spec files are parsed with the fast YAML loader at import; the strict loader that
checks users' files reads every one of them the same."""

from __future__ import annotations

import pytest

from mtml_rl.io import load_trusted_yaml, load_yaml_text
from mtml_rl.specs.spec import builtin_spec_files, load_spec_file, parse_spec


@pytest.mark.parametrize("path", builtin_spec_files(), ids=lambda p: p.name)
def test_fast_and_strict_loaders_agree(path: object) -> None:
    text = path.read_text()  # type: ignore[attr-defined]
    assert load_trusted_yaml(text) == load_yaml_text(text)
    assert parse_spec(load_trusted_yaml(text)) == load_spec_file(path)  # type: ignore[arg-type]


def test_builtin_specs_include_the_subfolders() -> None:
    names = {p.parent.name + "/" + p.name for p in builtin_spec_files()}
    assert "metaworld/MT10.yaml" in names and "envs/CartPole.yaml" in names
