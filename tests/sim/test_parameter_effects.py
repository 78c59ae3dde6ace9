"""A varying parameter of a wrapped Gymnasium env that changes nothing is named before any
training: ``train`` warns once per process and spec, and trains on."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import mtml_rl
from mtml_rl.envs import parameter_effects
from mtml_rl.envs.parameter_effects import inert_parameters, warn_inert_parameters
from mtml_rl.errors import MtmlWarning

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def with_masscart(tmp_path: Path, derived: bool) -> Path:
    """The CartPole example with ``masscart`` varying too; without its ``derived`` block, the
    cached ``total_mass`` that CartPole's step reads never sees it."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "CartPolePoleMass.yaml").read_text())
    data["name"] = "CartPoleCart" + ("Derived" if derived else "Stale")
    data["gymnasium"]["parameters"]["masscart"] = {"bounds": [0.1, 10.0], "unit": "kg"}
    data["parameters"]["masscart"] = {"train": [0.5, 5.0]}
    if not derived:
        del data["gymnasium"]["derived"]
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_parameter_the_step_never_reads_is_named(tmp_path: Path) -> None:
    stale = mtml_rl.resolve_spec(with_masscart(tmp_path, derived=False))
    assert inert_parameters(stale) == ["masscart"]  # masspole and length act directly too
    assert inert_parameters(mtml_rl.resolve_spec(with_masscart(tmp_path, derived=True))) == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_examples_have_none(path: Path) -> None:
    assert inert_parameters(mtml_rl.resolve_spec(path)) == []


@pytest.mark.parametrize("spec_id", ["mtml/CartPole-v0", "mtml/Pendulum-v0", "mtml/HalfCheetahParams-v0"])
def test_builtin_families_have_none(spec_id: str) -> None:
    assert inert_parameters(mtml_rl.resolve_spec(spec_id)) == []


def test_the_warning_comes_once_per_process_and_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parameter_effects, "_PROBED", set())
    spec = mtml_rl.resolve_spec(with_masscart(tmp_path, derived=False))
    with pytest.warns(MtmlWarning, match="parameter 'masscart' changed nothing in 200 steps") as caught:
        warn_inert_parameters(spec)
    assert len(caught) == 1 and "check that CartPole-v1's step reads its target" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_inert_parameters(spec)  # probed already: silent
        warn_inert_parameters(mtml_rl.resolve_spec("mtml/CartPole-v0"))  # not a wrapped spec
