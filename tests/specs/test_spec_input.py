"""Spec files at the door: read as bytes, size, encoding, nesting, duplicate keys, finite numbers,
safe names. Every bad file gets one :class:`SpecError` (exit code 2 from the CLI, no traceback)
that names the file and what is wrong, and no command leaves anything behind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mtml_rl.cli import main
from mtml_rl.errors import SpecError
from mtml_rl.io import MAX_YAML_DEPTH, MAX_YAML_VALUES
from mtml_rl.specs.spec import MAX_NAME_CHARS, MAX_SPEC_BYTES, load_spec_file, resolve_spec

SpecFile = Callable[..., Path]
CARTPOLE_TEXT = (Path(__file__).resolve().parents[2] / "envs" / "CartPole.yaml").read_text()


def _raw(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    return path


# (file bytes, words of the message)
BAD_FILES = [
    pytest.param(bytes(range(256)) * 4, "binary file", id="binary"),
    pytest.param(
        CARTPOLE_TEXT.replace("CartPole with", "CartPole w\xefth").encode("latin-1"),
        "not UTF-8",
        id="latin-1",
    ),
    pytest.param(
        b"name: " + b"[" * 5000 + b"]" * 5000 + b"\n", f"deeper than {MAX_YAML_DEPTH}", id="nested-lists"
    ),
    pytest.param(
        b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 200)), "deeper than", id="nested-maps"
    ),
    pytest.param((CARTPOLE_TEXT + "seed: 7\n").encode(), "the key 'seed' twice", id="duplicate-top-key"),
    pytest.param(
        CARTPOLE_TEXT.replace(
            "    train: [0.5, 1.5]\n", "    train: [0.5, 1.5]\n    train: [0.1, 0.2]\n"
        ).encode(),
        "the key 'train' twice",
        id="duplicate-nested-key",
    ),
    pytest.param(b"# " + b"x" * (MAX_SPEC_BYTES + 10) + b"\n", "larger than", id="too-large"),
    pytest.param(b"name: [unclosed\n", "not valid YAML", id="syntax"),
    pytest.param(CARTPOLE_TEXT.encode("utf-16"), "is UTF-16 (or UTF-32) text; save it as UTF-8", id="utf-16"),
    pytest.param(b"? [1, 2]\n: 3\n", "unhashable", id="unhashable-key"),
    pytest.param(
        b"a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + b"".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n".encode() for i in range(1, 10)),
        f"its aliases (*name) expand it to more than {MAX_YAML_VALUES:,} values",
        id="billion-laughs",
    ),
    pytest.param(b"name: &a [1, *a]\n", "contains its own anchor", id="recursive-alias"),
]


@pytest.mark.parametrize(("data", "words"), BAD_FILES)
def test_bad_files_get_one_spec_error(tmp_path: Path, data: bytes, words: str) -> None:
    path = _raw(tmp_path, data)
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    message = str(caught.value)
    assert words in message and str(path) in message
    assert "\n" not in message and len(message) < 600


def _set(dotted: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = dotted.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return change


NAN, INF = float("nan"), float("inf")
# (change, field named, words of the message)
BAD_VALUES = [
    pytest.param(
        _set("parameters.length.train", [0.5, NAN]), "parameters.length.train[1]", "finite", id="nan-train"
    ),
    pytest.param(
        _set("parameters.length.train", [NAN, NAN]), "parameters.length.train[0]", "finite", id="nan-both"
    ),
    pytest.param(
        _set("parameters.length.train", [-INF, 1.0]), "parameters.length.train[0]", "finite", id="-inf-train"
    ),
    pytest.param(
        _set("parameters.length.extrapolation", [[1.5, INF]]),
        "parameters.length.extrapolation[0][1]",
        "finite",
        id="inf-extrapolation",
    ),
    pytest.param(
        _set("parameters.actuator_gain.train", [[-1.5, NAN], [0.5, 1.5]]),
        "parameters.actuator_gain.train[0][1]",
        "finite",
        id="nan-region-part",
    ),
    pytest.param(
        _set("combinatorial.length", [NAN, 1.5]), "combinatorial.length[0]", "finite", id="nan-combinatorial"
    ),
    pytest.param(_set("fixed", {"cart_mass": NAN}), "fixed.cart_mass", "finite", id="nan-fixed"),
    pytest.param(_set("fixed", {"cart_mass": 10**400}), "fixed.cart_mass", "too large", id="huge-int-fixed"),
    pytest.param(_set("name", "N" * 5000), "name", "5,000 characters", id="long-name"),
    pytest.param(_set("name", "a/b"), "name", "letters, digits", id="slash-name"),
    pytest.param(_set("name", "../x"), "name", "letters, digits", id="dotdot-name"),
    pytest.param(_set("name", ""), "name", "letters, digits", id="empty-name"),
    pytest.param(_set("splits.train", 10**9), "splits.train", "at most 100,000", id="huge-split"),
    pytest.param(_set("seed", 2**70), "seed", "at most", id="huge-seed"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_VALUES)
def test_bad_values_get_one_spec_error(
    spec_file: SpecFile, change: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    path = spec_file(change)
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert caught.value.field == field
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_names_up_to_the_limit_are_accepted(spec_file: SpecFile) -> None:
    spec = load_spec_file(spec_file(_set("name", "N" * MAX_NAME_CHARS)))
    assert spec.id == f"mtml/{'N' * MAX_NAME_CHARS}-v0"


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    spec = load_spec_file(_raw(tmp_path, b"\xef\xbb\xbf" + CARTPOLE_TEXT.encode()))
    assert spec.name == "CartPole"


def test_a_folder_is_named_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It was "no such spec file" (``d.yaml/``) or an unknown id (``/tmp``); a folder named as a
    registered id is not taken for a spec in place of the id."""
    (tmp_path / "d.yaml").mkdir()
    for given in (tmp_path / "d.yaml", tmp_path):
        with pytest.raises(
            SpecError, match=r": is a folder, not a spec file; pass a spec \.yaml file in it$"
        ):
            resolve_spec(str(given))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "CartPole").mkdir()
    assert resolve_spec("CartPole").id == "mtml/CartPole-v0"


def test_an_overlong_path_is_no_such_file() -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        resolve_spec("x" * 5000 + ".yaml")
    with pytest.raises(SpecError, match="no such spec file"):
        resolve_spec("d/" * 3000 + "x.yaml")


@pytest.mark.parametrize(
    ("data", "in_process"),
    [
        pytest.param(bytes(range(256)) * 4, False, id="binary"),  # once as a process of its own
        pytest.param(b"name: " + b"[" * 5000 + b"]" * 5000, True, id="nested"),
        pytest.param(
            CARTPOLE_TEXT.replace("name: CartPole", "name: " + "N" * 5000).encode(), True, id="long-name"
        ),
        pytest.param(
            CARTPOLE_TEXT.replace("train: [0.5, 1.5]", "train: [0.5, .nan]").encode(), True, id="nan-region"
        ),
    ],
)
@pytest.mark.fast_subset({"in_process": True})  # the process of its own imports torch: make test runs it
def test_the_cli_exits_2_with_one_line_and_leaves_nothing(
    tmp_path: Path,
    data: bytes,
    in_process: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _raw(tmp_path, data)
    work = tmp_path / "work"
    work.mkdir()
    argv = ["train", "--env", str(path), "--method", "dr", "--timesteps", "100"]
    if in_process:  # the entry point's own handling, without another interpreter's start-up
        monkeypatch.chdir(work)
        code, stderr = main(argv), capsys.readouterr().err
    else:
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())", *argv],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        code, stderr = done.returncode, done.stderr
    assert code == 2, stderr[-2000:]
    assert stderr.startswith("mtml-rl train: error: ") and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert list(work.iterdir()) == []
