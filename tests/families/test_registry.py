"""The public family registry: register_family, entry points, "pkg.module:Class" in a spec,
the checks every user family passes, and the action-space rule."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import toy_families
import yaml

import mtml_rl
from mtml_rl.errors import FamilyError, MtmlWarning, SpecError, UnknownNameError
from mtml_rl.families import registry
from mtml_rl.specs.spec import parse_spec

TOY_REF = "toy_families:ToyDrift"


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the built-ins only and leaves no registration behind."""
    monkeypatch.setattr(registry, "_REGISTERED", {})
    monkeypatch.setattr(registry, "_CHECKED", {})
    monkeypatch.setattr(registry, "_ENTRY_POINTS", None)


def toy_spec_data(
    family: str, parameter: str = "drift", train: tuple[float, float] = (-0.5, 0.5)
) -> dict[str, Any]:
    """A spec of one varying parameter over ``family``."""
    return {
        "name": "Toy",
        "family": family,
        "seed": 0,
        "max_episode_steps": 20,
        "parameters": {parameter: {"train": list(train)}},
        "splits": {"train": 4, "test-interpolation": 2},
    }


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Writes spec data to ``tmp_path/toy.yaml`` and returns the path."""

    def write(data: dict[str, Any]) -> Path:
        path = tmp_path / "toy.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


# ---------------------------------------------------------------------------- the three ways in
def test_a_registered_class_works_by_name_and_keeps_its_reference(
    write_spec: Callable[[dict[str, Any]], Path],
) -> None:
    mtml_rl.register_family("toy_drift", toy_families.ToyDrift)
    assert "toy_drift" in mtml_rl.family_names()
    spec = mtml_rl.resolve_spec(write_spec(toy_spec_data("toy_drift")))
    assert (spec.family, spec.family_ref, spec.family_cls) == ("toy_drift", TOY_REF, toy_families.ToyDrift)
    assert spec.to_dict()["family"] == TOY_REF
    assert parse_spec(spec.to_dict()) == spec
    env = mtml_rl.make(spec.source)
    _, info = env.reset(seed=0)
    assert info["task"].startswith("toy_drift-")
    env.step(np.ones(1, dtype=np.float32))
    vec = mtml_rl.make_vec(spec.source, num_envs=3)
    assert vec.reset(seed=0)[0].shape == (3, 1)


def test_a_registered_reference_is_imported_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(__import__("sys").modules, "toy_families")
    mtml_rl.register_family("toy_drift", TOY_REF)
    assert "toy_families" not in __import__("sys").modules
    assert mtml_rl.get_family("toy_drift").__name__ == "ToyDrift"
    assert registry.family_ref("toy_drift") == TOY_REF


def test_a_spec_can_name_a_class_without_any_registration(
    write_spec: Callable[[dict[str, Any]], Path],
) -> None:
    spec = mtml_rl.resolve_spec(write_spec(toy_spec_data(TOY_REF)))
    assert (spec.family, spec.family_ref) == ("toy_drift", TOY_REF)
    assert "toy_drift" not in mtml_rl.family_names()
    assert parse_spec(spec.to_dict()) == spec
    # a pickled spec (what a spawned worker receives) resolves its family by the reference
    assert pickle.loads(pickle.dumps(spec)).family_cls is toy_families.ToyDrift
    assert len(mtml_rl.build_splits(spec)["train"].tasks) == 4


def test_built_in_specs_keep_their_plain_family_name() -> None:
    spec = mtml_rl.resolve_spec("mtml/CartPole-v0")
    assert spec.family_ref is None
    assert spec.to_dict()["family"] == "cartpole"
    assert spec.family_cls is mtml_rl.get_family("cartpole")


def _write_plugin(root: Path, entry_points: str) -> None:
    """An installed distribution ``toy-plugin`` (its dist-info) that declares ``entry_points``."""
    dist = root / "toy_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{entry_points}\n")


def test_an_entry_point_is_found_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_spec: Callable[[dict[str, Any]], Path]
) -> None:
    assert "toy_drift" not in mtml_rl.family_names()  # read once, before the plugin exists
    _write_plugin(tmp_path / "site", f"toy_drift = {TOY_REF}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = mtml_rl.resolve_spec(write_spec(toy_spec_data("toy_drift")))  # a miss re-reads them
    assert spec.family_cls is toy_families.ToyDrift
    assert spec.family_ref == TOY_REF
    assert "toy_drift" in mtml_rl.family_names()


def test_an_entry_point_cannot_shadow_a_built_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_plugin(tmp_path / "site", f"cartpole = {TOY_REF}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.warns(MtmlWarning, match="'cartpole' is a built-in family; rename the entry point"):
        names = mtml_rl.family_names()
    assert mtml_rl.get_family("cartpole").__name__ == "CartPole"
    assert names.count("cartpole") == 1


# ---------------------------------------------------------------------------- registration errors
def test_a_taken_name_needs_replace() -> None:
    mtml_rl.register_family("toy_drift", toy_families.ToyDrift)
    with pytest.raises(FamilyError, match=r"already registered .*pass replace=True"):
        mtml_rl.register_family("toy_drift", TOY_REF)
    mtml_rl.register_family("toy_drift", TOY_REF, replace=True)
    with pytest.raises(FamilyError, match="'cartpole' is already registered \\(a built-in family\\)"):
        mtml_rl.register_family("cartpole", TOY_REF)
    with pytest.raises(FamilyError, match="generic family's name"):
        mtml_rl.register_family("gymnasium", TOY_REF)


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("my-family", TOY_REF, "not valid; use a letter followed by letters, digits and '_'"),
        ("other_name", toy_families.ToyDrift, "is called 'toy_drift' but registered as 'other_name'"),
        ("not_a_family", toy_families.NotAFamily, "is not a family class; subclass mtml_rl.families.Family"),
        ("no_step", toy_families.NoStep, "does not implement observe, step; define them"),
        ("no_uniforms", toy_families.NoUniforms, "does not set 'n_reset_uniforms': how many U\\[0, 1\\)"),
        ("level_as_number", toy_families.LevelAsNumber, "solved_level = -1.0 is not a ReturnLevel; write"),
        ("toy_drift", "toy_families.ToyDrift", "is not a family reference; write it as 'pkg.module:Class'"),
    ],
)
def test_registration_errors_name_the_fix(name: str, target: Any, message: str) -> None:
    with pytest.raises(FamilyError, match=message):
        mtml_rl.register_family(name, target)
    assert name not in mtml_rl.family_names() or name == "toy_drift"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_module_xyz:Fam", "cannot import the module of family 'no_such_module_xyz:Fam'"),
        ("toy_families:Missing", "module 'toy_families' has no 'Missing'"),
        ("toy_families:NotAFamily", "is not a family class"),
    ],
)
def test_a_bad_reference_in_a_spec_is_a_spec_error(
    ref: str, message: str, write_spec: Callable[[dict[str, Any]], Path]
) -> None:
    with pytest.raises(SpecError, match=f"field 'family': .*{message}"):
        mtml_rl.resolve_spec(write_spec(toy_spec_data(ref)))


def test_an_unknown_name_suggests_the_closest_and_the_ways_in(
    write_spec: Callable[[dict[str, Any]], Path],
) -> None:
    with pytest.raises(UnknownNameError, match=r"did you mean 'cartpole'.*register_family"):
        mtml_rl.get_family("cartpol")
    with pytest.raises(
        SpecError, match=r"unknown family 'cartpol'; did you mean 'cartpole'.*pkg\.module:Class"
    ):
        mtml_rl.resolve_spec(write_spec(toy_spec_data("cartpol")))


def test_a_class_that_is_not_importable_by_name_stays_in_process(
    write_spec: Callable[[dict[str, Any]], Path],
) -> None:
    class Local(toy_families.ToyDrift):
        name = "local_drift"

    mtml_rl.register_family("local_drift", Local)
    spec = mtml_rl.resolve_spec(write_spec(toy_spec_data("local_drift")))
    assert spec.family_ref is None
    assert spec.family_cls is Local


def test_a_stale_reference_falls_back_to_the_name(write_spec: Callable[[dict[str, Any]], Path]) -> None:
    mtml_rl.register_family("toy_drift", toy_families.ToyDrift)
    spec = mtml_rl.resolve_spec(write_spec(toy_spec_data("toy_drift")))
    moved = parse_spec({**spec.to_dict(), "family": "toy_drift"})
    assert moved.family_cls is toy_families.ToyDrift
    stale = type(spec)(**{**spec.__dict__, "family_ref": "toy_families:Gone"})
    assert stale.family_cls is toy_families.ToyDrift


# ---------------------------------------------------------------------------- the action-space rule
@pytest.mark.parametrize(
    ("cls", "shown"),
    [(toy_families.WideActions, "Box(-2.0, 2.0"), (toy_families.ShiftedDiscrete, "Discrete(3")],
)
def test_a_numpy_family_outside_the_action_rule_is_refused(
    cls: type, shown: str, write_spec: Callable[[dict[str, Any]], Path]
) -> None:
    mtml_rl.register_family(cls.name, cls)  # type: ignore[attr-defined]
    path = write_spec(toy_spec_data(cls.name))  # type: ignore[attr-defined]
    before = set(gym.registry)
    with pytest.raises(FamilyError, match=re.escape(shown) + r".*Box bounded by exactly \[-1, 1\]; return"):
        mtml_rl.make(path)
    assert set(gym.registry) == before


def test_a_simulator_family_gets_every_optional_hook_and_normalized_actions(
    write_spec: Callable[[dict[str, Any]], Path],
) -> None:
    mtml_rl.register_family("toy_pendulum", toy_families.ToyPendulum)
    family = toy_families.ToyPendulum()
    assert family.action_space() == gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
    assert family.simulator_action(np.array([0.5], dtype=np.float32)) == pytest.approx([1.0])
    data = toy_spec_data("toy_pendulum", "g", (5.0, 15.0))
    env = mtml_rl.make(write_spec(data), task={"g": 15.0}, history_len=2)
    env.reset(seed=0)
    assert env.unwrapped.simulator.g == 15.0
    obs, reward, *_ = env.step(np.array([1.0], dtype=np.float32))
    # the history holds the agent's action (1.0), the simulator got 2.0 (its bound): reward
    # -(th^2 + 0.1 thdot^2 + 0.001 u^2) with u = 2
    assert obs["history"][-2] == pytest.approx(1.0)
    theirs = gym.make("Pendulum-v1", g=15.0)
    theirs.reset(seed=0)
    assert reward == pytest.approx(theirs.step(np.array([2.0], dtype=np.float32))[1])


def test_a_module_that_raises_on_import_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_family_module.py").write_text("raise RuntimeError('half-written plugin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mtml_rl.register_family("broken", "broken_family_module:Broken")
    with pytest.raises(FamilyError, match="raised RuntimeError: half-written plugin; fix that module"):
        mtml_rl.get_family("broken")
    from mtml_rl.cli.main import main as cli_main

    assert cli_main(["list"]) == 0  # the overview shows it as unavailable
    assert "unavailable" in capsys.readouterr().out


# ---------------------------------------------------------------------- documented returns
def test_a_family_of_ones_own_documents_its_reference_and_solved_level() -> None:
    """Its reference return and solved level reach the evaluation and the report's notes
    exactly as a built-in's do, scaled to the spec's episode length where they accrue per step."""
    from mtml_rl.evaluation.references import (
        documented_references,
        documented_solved_levels,
        family_reference,
        solved_level,
    )
    from mtml_rl.families import ReturnLevel

    class Documented(toy_families.ToyDrift):
        reference_return = ReturnLevel("hold the origin from the start", fixed=-0.5)
        solved_level = ReturnLevel("within 5 cm of the origin on average", per_step=-0.05)

    mtml_rl.register_family("toy_drift", Documented)
    spec = parse_spec(toy_spec_data("toy_drift"))  # 20-step episodes
    assert (family_reference(spec), solved_level(spec)) == (-0.5, -1.0)
    assert documented_references()["toy_drift"].reason == "hold the origin from the start"
    assert documented_solved_levels()["cartpole"].value(500) == 475.0  # the built-ins' as before
    mtml_rl.register_family("toy_pendulum", toy_families.ToyPendulum)
    undocumented = parse_spec(toy_spec_data("toy_pendulum", "g", (9.0, 10.0)))
    assert (family_reference(undocumented), solved_level(undocumented)) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": " "}, "needs a reason"),
        ({"reason": "r", "fixed": float("nan")}, "fixed = nan is not a finite number"),
        ({"reason": "r", "per_step": "1"}, "per_step = '1' is not a finite number"),
        ({"reason": "r", "per_step": True}, "per_step = True is not a finite number"),
    ],
)
def test_a_return_level_is_a_reason_and_finite_numbers(kwargs: dict[str, Any], message: str) -> None:
    from mtml_rl.families import ReturnLevel

    with pytest.raises(FamilyError, match=re.escape(message)):
        ReturnLevel(**kwargs)
