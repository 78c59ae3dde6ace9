"""``mtml-rl list``: the overview, every parameter of a spec or a family, an env's targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mtml_rl.cli.main import main as cli_main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def listed(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What ``mtml-rl list ARGS`` prints (it must exit 0)."""
    assert cli_main(["list", *args]) == 0
    return capsys.readouterr().out


def rows(text: str) -> dict[str, list[str]]:
    """Table rows by their first cell (cells stripped)."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0]:
            out[cells[0]] = cells
    return out


def test_the_overview_lists_ids_and_every_family(capsys: pytest.CaptureFixture[str]) -> None:
    text = listed(capsys)
    table = rows(text)
    assert "mtml/CartPole-v0" in table and "mtml/HopperParams-v0" in table
    assert table["cartpole"][1:3] == [
        "numpy (CartPole-v1)",
        "gravity, cart_mass, pole_mass, length, actuator_gain",
    ]
    assert table["hopper_params"][1] == "simulator (Hopper-v5)"
    assert table["gymnasium"][1] == "simulator"


def test_the_overview_lists_every_method_with_what_it_deploys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = rows(listed(capsys))
    for name in ("dr", "oracle", "history", "adapt", "rl2", "finetune", "pearl", "onehot", "multihead"):
        assert name in table, name
    assert table["oracle"][2] == "with the true context (privileged)"
    assert table["onehot"][2] == "with the task id only"
    phase = "its first phase is oracle's training (evaluate --deploy-as oracle)"
    assert table["adapt"][2] == f"without the context; {phase}"
    assert table["finetune"][2].endswith("trains as dr, deploys its runs (evaluate --deploy-as finetune)")
    assert table["adapt"][1], "a method's summary is shown"


def test_a_spec_id_shows_every_parameter_not_only_the_varying_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = rows(listed(capsys, "mtml/CartPole-v0"))
    assert table["gravity"][1:6] == ["9.8", "[0.1, 100]", "m/s^2", "gravitational acceleration", "default"]
    assert table["cart_mass"][1:5] == ["1", "[0.01, 100]", "kg", "mass of the cart"]
    assert table["length"][5].startswith("varies: train [[0.5, 1.5]]; extrapolation")


def test_a_spec_file_shows_fixed_values_and_the_wrapped_targets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = yaml.safe_load((EXAMPLES / "MountainCarForce.yaml").read_text())
    del data["parameters"]["gravity"]
    data["fixed"] = {"gravity": 0.003}
    path = tmp_path / "Fixed.yaml"
    path.write_text(yaml.safe_dump(data))
    text = listed(capsys, str(path))
    assert "family: gymnasium (MountainCar-v0; tasks name it gym_mountaincar_v0)" in text
    table = rows(text)
    assert table["force"][1:3] == ["0.001", "[0.0001, 0.01]"] and table["force"][5] == "force"
    assert table["gravity"][1] == "0.0025" and table["gravity"][6] == "fixed at 0.003"
    pendulum = rows(listed(capsys, str(EXAMPLES / "InvertedPendulumPoleMass.yaml")))
    assert pendulum["pole_mass"][1:4] == ["5.01859", "[0.5, 50]", "kg"]
    assert pendulum["pole_mass"][5] == "model.body_mass[pole]"


@pytest.mark.parametrize("name", ["pendulum", "mtml_rl.families.pendulum:Pendulum"])
def test_a_family_by_name_or_reference(capsys: pytest.CaptureFixture[str], name: str) -> None:
    text = listed(capsys, name)
    assert "pendulum: numpy (Pendulum-v1) family" in text
    assert set(rows(text)) >= {"mass", "length", "gravity", "max_torque", "actuator_gain"}


def test_the_generic_family_points_to_its_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert "declared by a spec's 'gymnasium:' block" in listed(capsys, "gymnasium")


def test_gym_lists_the_targets_of_an_environment(capsys: pytest.CaptureFixture[str]) -> None:
    cartpole = rows(listed(capsys, "--gym", "CartPole-v1"))
    assert cartpole["masspole"][1] == "0.1" and cartpole["total_mass"][1] == "1.1"
    pendulum = rows(listed(capsys, "--gym", "InvertedPendulum-v5"))
    assert pendulum["model.body_mass[pole]"][1] == "5.01859"
    assert pendulum["model.geom_friction[cpole, 0]"][1] == "1"


def test_gym_says_when_an_environment_has_nothing_to_target(capsys: pytest.CaptureFixture[str]) -> None:
    """Blackjack's attributes are flags (natural, sab), none a number: one line, no empty table."""
    first, *notes = listed(capsys, "--gym", "Blackjack-v1").strip().splitlines()
    assert first == (
        "Blackjack-v1's environment holds no number as a public attribute and no MuJoCo model: "
        "a 'gymnasium:' block has nothing to vary in it"
    )
    assert [n.split(":")[0] for n in notes] == ["note"]  # its observations are a Tuple


def test_gym_says_what_would_keep_a_spec_of_the_environment_from_being_built(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FrozenLake observes a Discrete cell: a spec of it was refused only once it was written
    and trained (found with CarRacing-v3's images); the listing says so beside its targets."""
    text = listed(capsys, "--gym", "FrozenLake-v1")
    assert "note: a spec of FrozenLake-v1 is refused: it observes Discrete(16), not one vector" in text
    assert "gymnasium.wrappers.FlattenObservation" in text
    assert "note:" not in listed(capsys, "--gym", "CartPole-v1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cartpol"], "unknown environment id or family 'cartpol'; did you mean 'cartpole'?"),
        (["missing.yaml"], "no such spec file"),
        (["--gym", "CartPol-v1"], "--gym: cannot build 'CartPol-v1'"),
        (["nowhere_xyz:Fam"], "cannot import the module of family 'nowhere_xyz:Fam'"),
    ],
)
def test_bad_input_exits_2_with_one_message(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli_main(["list", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
