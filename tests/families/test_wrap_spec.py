"""The generic family's spec block: parsing, targets, derived expressions, and the errors
that name the field and the fix."""

from __future__ import annotations

import copy
import math
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import mtml_rl
from mtml_rl.errors import MtmlWarning, SpecError
from mtml_rl.families.wrap.expressions import Expression, ExpressionError
from mtml_rl.families.wrap.targets import Target, TargetError
from mtml_rl.specs.spec import parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def cartpole_data() -> dict[str, Any]:
    """The CartPole example as plain data."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "CartPolePoleMass.yaml").read_text())
    return data


# ---------------------------------------------------------------------------- the examples
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_round_trips_and_pickles(path: Path) -> None:
    spec = mtml_rl.resolve_spec(path)
    assert spec.gymnasium is not None and spec.family_ref is None
    assert spec.family == spec.gymnasium.family_name == spec.family_cls.name
    data = spec.to_dict()
    assert data["family"] == "gymnasium" and data["gymnasium"]["id"] == spec.gymnasium.env_id
    again = parse_spec(copy.deepcopy(data))
    assert again == spec and again.content_hash() == spec.content_hash()
    assert pickle.loads(pickle.dumps(spec)).family_cls is spec.family_cls  # one class per block
    assert parse_spec(yaml.safe_load(yaml.safe_dump(data))) == spec


def test_defaults_come_from_the_environment_and_the_rest_from_the_spec() -> None:
    spec = mtml_rl.resolve_spec(EXAMPLES / "InvertedPendulumPoleMass.yaml")
    (pole,) = spec.family_cls.param_specs()
    assert (pole.name, pole.low, pole.high, pole.unit) == ("pole_mass", 0.5, 50.0, "kg")
    assert pole.default == pytest.approx(5.0186, abs=1e-4)  # the model's own value
    cart = mtml_rl.resolve_spec(EXAMPLES / "CartPolePoleMass.yaml").family_cls.default_task()
    assert cart.as_dict() == {"masspole": 0.1, "length": 0.5}
    assert cart.family == "gym_cartpole_v1"


def test_a_scale_defaults_to_one_and_its_doc_says_so() -> None:
    data = cartpole_data()
    data["gymnasium"]["parameters"]["masspole"]["scale"] = True
    data["gymnasium"]["parameters"]["masspole"]["bounds"] = [0.5, 4.0]
    data["gymnasium"]["parameters"]["masspole"]["doc"] = ""
    data["parameters"]["masspole"] = {"train": [0.5, 2.0]}
    schema = {s.name: s for s in parse_spec(data).family_cls.param_specs()}
    assert schema["masspole"].default == 1.0
    assert schema["masspole"].doc == "multiplier of masspole"


# ---------------------------------------------------------------------------- errors
def _edited(edit: Any) -> dict[str, Any]:
    data = cartpole_data()
    edit(data)
    return data


def _block(data: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = data["gymnasium"]
    return block


def _masspole(data: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = data["gymnasium"]["parameters"]["masspole"]
    return entry


CASES = [
    (lambda d: d.pop("gymnasium"), "gymnasium", "needs a 'gymnasium:' block with 'id' and 'parameters'"),
    (lambda d: d.update(family="cartpole"), "gymnasium", "belongs to family: gymnasium; remove one"),
    (lambda d: _block(d).update(ids="x"), "gymnasium.ids", "unknown field; did you mean 'id'?"),
    (lambda d: _block(d).update(id="CartPol-v1"), "gymnasium.id", "CartPol-v1"),
    (lambda d: _block(d).update(kwargs={"bogus": 1}), "gymnasium.kwargs", "bogus"),
    (lambda d: _masspole(d).pop("bounds"), "gymnasium.parameters.masspole.bounds", "missing required field"),
    (lambda d: _masspole(d).update(bounds=[2, 1]), "gymnasium.parameters.masspole.bounds", "min <= max"),
    (
        lambda d: _masspole(d).update(bounds=[1.0, 2.0]),
        "gymnasium.parameters.masspole.bounds",
        "the default 0.1 read from CartPole-v1 lies outside the bounds \\[1, 2\\]; widen them",
    ),
    (
        lambda d: _masspole(d).update(target="masspol"),
        "gymnasium.parameters.masspole.target",
        "CartPoleEnv has no attribute 'masspol'; did you mean 'masspole'",
    ),
    (
        lambda d: _masspole(d).update(target="masspole[0]"),
        "gymnasium.parameters.masspole.target",
        "is a number \\(0.1\\); drop the \\[...\\]",
    ),
    (
        lambda d: _masspole(d).update(target="a b(c)"),
        "gymnasium.parameters.masspole.target",
        "is not a target",
    ),
    (
        lambda d: _masspole(d).update(scale=True, bounds=[2.0, 3.0]),
        "gymnasium.parameters.masspole.bounds",
        "a scale's default is 1, outside",
    ),
    (
        lambda d: _block(d)["derived"].update(total_mass="__import__('os')"),
        "gymnasium.derived.total_mass",
        "cannot call '__import__'",
    ),
    (
        lambda d: _block(d)["derived"].update(total_mass="masspole[0]"),
        "gymnasium.derived.total_mass",
        "is not allowed",
    ),
    (
        lambda d: _block(d)["derived"].update(total_mass="masspole + masscrt"),
        "gymnasium.derived.total_mass",
        "no attribute 'masscrt'; did you mean 'masscart'",
    ),
    (
        lambda d: _block(d)["derived"].update(total_mass="masspole / 0"),
        "gymnasium.derived.total_mass",
        "cannot be evaluated: float division by zero",
    ),
    (
        lambda d: _block(d)["derived"].update(masspole="1.0"),
        "gymnasium.derived.masspole",
        "is a parameter's target",
    ),
    (
        lambda d: d["parameters"].update(masscart={"train": [1, 2]}),
        "parameters.masscart",
        "has no parameter 'masscart'",
    ),
]


@pytest.mark.parametrize(("edit", "field", "message"), CASES)
def test_errors_name_the_field_and_the_fix(edit: Any, field: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_edited(edit)))
    with pytest.raises(SpecError, match=message) as info:
        mtml_rl.resolve_spec(path)
    assert info.value.field == field and info.value.source == str(path)


def test_a_wrong_derived_expression_is_a_warning_with_the_values() -> None:
    data = cartpole_data()
    data["gymnasium"]["derived"]["total_mass"] = "masspole * masscart"
    with pytest.warns(MtmlWarning, match="total_mass = masspole \\* masscart gives 0.1 at the defaults"):
        parse_spec(data)


def test_mujoco_names_are_checked_against_the_model() -> None:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "InvertedPendulumPoleMass.yaml").read_text())
    data["gymnasium"]["parameters"]["pole_mass"]["target"] = "model.body_mass[pol]"
    with pytest.raises(
        SpecError, match="no body 'pol'; did you mean 'pole'\\?; its names are world, cart, pole"
    ):
        parse_spec(data)
    data["gymnasium"]["parameters"]["pole_mass"]["target"] = "model.body_mass"
    with pytest.raises(SpecError, match=r"holds 3 values; index one entry .* or set scale: true"):
        parse_spec(data)
    data["gymnasium"]["parameters"]["pole_mass"]["target"] = "model.opt.gravity[pole]"
    with pytest.raises(SpecError, match=r"a name in \[...\] needs a MuJoCo model array"):
        parse_spec(data)
    data["gymnasium"]["parameters"]["pole_mass"]["target"] = "model.body_mass[pole, 3]"
    with pytest.raises(SpecError, match="index \\[2, 3\\] is out of range for shape \\(3,\\)"):
        parse_spec(data)


# ---------------------------------------------------------------------------- the pieces
@pytest.mark.parametrize(
    ("text", "path", "index"),
    [
        ("force", ("force",), ()),
        ("model.body_mass[pole]", ("model", "body_mass"), ("pole",)),
        ("model.geom_friction[floor, 0]", ("model", "geom_friction"), ("floor", 0)),
        ("model.opt.gravity[-1]", ("model", "opt", "gravity"), (-1,)),
    ],
)
def test_targets_parse(text: str, path: tuple[str, ...], index: tuple[Any, ...]) -> None:
    target = Target.parse(text)
    assert (target.path, target.index, target.text) == (path, index, text)


@pytest.mark.parametrize("text", ["", "a..b", "1abc", "a[", "a[]", "a[0][1]", 3])
def test_malformed_targets_are_refused(text: Any) -> None:
    with pytest.raises(TargetError, match="is not a target"):
        Target.parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("masspole + masscart", 1.1),
        ("-x ** 2 / 4 + 1", -3.0),
        ("sqrt(x) * pi", 2 * math.pi),
        ("max(x, 5) % 3", 2.0),
        ("model.opt.timestep * 2", 0.04),
        (7, 7.0),
    ],
)
def test_expressions_evaluate(text: Any, value: float) -> None:
    names = {"masspole": 0.1, "masscart": 1.0, "x": 4.0, "model.opt.timestep": 0.02}
    assert Expression.parse(text).evaluate(names.__getitem__) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    ["open('f')", "x.y()", "(lambda: 1)()", "[1][0]", "x if x else 1", "'a'", "x < 1", "sqrt(x=1)", "True"],
)
def test_expressions_refuse_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(ExpressionError):
        Expression.parse(text)


def test_huge_powers_fail_fast() -> None:
    with pytest.raises(ExpressionError, match="cannot be evaluated"):
        Expression.parse("10 ** 10 ** 10").evaluate(lambda name: 0.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-" * 100_000 + "1", "has 100,001 characters, more than an expression may (1,000)"),
        ("1" + " + 1" * 200, "is nested more than 100 levels deep"),
        ("-" * 900 + "1", "is nested more than 100 levels deep"),
    ],
)
def test_an_expression_too_long_or_too_deep_is_refused_in_one_line(text: str, expected: str) -> None:
    """A ``MemoryError`` (100,000 minus signs) and a ``RecursionError`` (hundreds of levels,
    in Python's parser or the evaluator) were tracebacks."""
    with pytest.raises(ExpressionError, match=re.escape(expected)):
        Expression.parse(text)
    assert Expression.parse("(" * 40 + "x" + ")" * 40).evaluate(lambda name: 3.0) == 3.0


def test_expression_names_exclude_functions_and_constants() -> None:
    assert Expression.parse("sqrt(a.b) + pi * c - a.b").names == ("a.b", "c")
