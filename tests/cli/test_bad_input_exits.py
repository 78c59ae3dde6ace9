"""Commands and scripts refuse bad input in one line with exit status 2: a zero or negative
count is a usage error (:mod:`mtml_rl.cli.arguments`), and a refused input, such as a folder that
is no run, is one ``PROGRAM: error: MESSAGE`` line (:func:`mtml_rl.errors.exit_status`), never a
traceback."""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_loading import load_script

from mtml_rl.cli.arguments import positive_float, positive_int
from mtml_rl.cli.main import main as cli_main
from mtml_rl.errors import CheckpointError, ConfigError, exit_status, output_problem

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("20000", 20_000)])
def test_positive_int_takes_counts(text: str, value: int) -> None:
    assert positive_int(text) == value


@pytest.mark.parametrize(
    ("text", "message"), [("0", "at least 1, got 0"), ("-3", "got -3"), ("2.5", "whole")]
)
def test_positive_int_refuses_the_rest(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        positive_int(text)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "x"])
def test_positive_float_refuses_what_is_not_above_zero(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_float(text)
    assert positive_float("0.5") == 0.5


def test_a_refused_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    def main() -> int:
        raise CheckpointError("/x is not a run directory (no config.yaml); pass a folder made by train")

    assert exit_status("tool.py", main) == 2
    assert capsys.readouterr().err == (
        "tool.py: error: /x is not a run directory (no config.yaml); pass a folder made by train\n"
    )
    assert exit_status("tool.py", lambda: None) == 0
    assert exit_status("tool.py", lambda: 1) == 1


def test_other_errors_are_not_hidden() -> None:
    def main() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        exit_status("tool.py", main)


@pytest.mark.slow  # a fresh interpreter
def test_a_script_given_results_that_are_not_there_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "gap_by_task.py"), str(missing), "--param", "length"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"gap_by_task.py: error: {missing}: cannot read results"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def _os_error(code: int, filename: str | None = None) -> OSError:
    return OSError(code, os.strerror(code), filename)


def test_a_full_disk_says_what_was_kept_and_how_to_go_on(tmp_path: Path) -> None:
    for code in (errno.ENOSPC, errno.EDQUOT):
        problem = output_problem(_os_error(code, str(tmp_path / "run" / "model.zip")))
        assert problem is not None and problem.startswith(
            f"no room to write {tmp_path / 'run' / 'model.zip'}"
        )
        assert "what was saved before is whole" in problem and "mtml-rl train --resume RUN" in problem
    assert str(output_problem(_os_error(errno.ENOSPC))).startswith("no room to write (No space left")


def test_an_output_path_the_file_system_refuses_is_named(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("")
    assert output_problem(_os_error(errno.EEXIST, str(file))) == (
        f"{file} is a file, where a folder is needed; choose another output path"
    )
    lock = file / "run" / ".lock"
    assert output_problem(_os_error(errno.ENOTDIR, str(lock))) == (
        f"{file} is a file, where a folder is needed to write {lock}; choose another output path"
    )
    assert output_problem(_os_error(errno.EROFS, "/mnt/ro/run")) == (
        "cannot write /mnt/ro/run (Read-only file system); choose an output folder you can write to"
    )
    assert output_problem(_os_error(errno.EBADF, "/x")) is None  # not the user's to fix: a bug
    assert output_problem(_os_error(errno.EACCES)) is None  # nothing to name


def test_a_command_that_cannot_write_exits_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def main() -> int:
        raise _os_error(errno.ENOSPC)

    assert exit_status("tool.py", main) == 2
    err = capsys.readouterr().err
    assert err.startswith("tool.py: error: no room to write") and err.count("\n") == 1

    def buggy() -> int:
        raise _os_error(errno.EBADF)

    with pytest.raises(OSError, match="Bad file descriptor"):
        exit_status("tool.py", buggy)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (MemoryError("Unable to allocate 19.1 GiB for an array with shape (10000000, 64, 4)"), None),
        (MemoryError(), ""),
        (
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                "you tried to allocate 40000000000 bytes. Error code 12 (Cannot allocate memory)"
            ),
            "Unable to allocate 37.3 GiB for a torch tensor",
        ),
    ],
    ids=["numpy", "bare", "torch"],
)
def test_a_command_that_runs_out_of_memory_exits_2_in_one_line(
    error: Exception, detail: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mtml-rl train --n-envs 10000000`` was a numpy traceback; numpy's account of the
    allocation is kept, a bare ``MemoryError`` (a pickle of a checkpoint) reads as well, and
    torch's allocator, which raises ``RuntimeError``, is told in numpy's words."""

    def main() -> int:
        raise error

    assert exit_status("mtml-rl train", main) == 2
    shown = str(error) if detail is None else detail
    assert capsys.readouterr().err == (
        f"mtml-rl train: error: out of memory{f' ({shown})' if shown else ''}; ask for less: smaller "
        "counts in the command (environments, episodes, bootstrap repetitions, batch or buffer sizes, "
        "trials at once)\n"
    )

    def buggy() -> int:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        exit_status("mtml-rl train", buggy)


def test_train_into_a_path_under_a_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("")
    args = ["train", "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", "64", "--quiet"]
    assert cli_main([*args, "--out", str(file / "run")]) == 2
    assert capsys.readouterr().err == (
        f"mtml-rl train: error: {file} is a file, where a folder is needed; choose another output path\n"
    )
    assert file.read_text() == ""


def test_a_path_that_is_not_utf8_is_a_usage_error_before_anything_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs record their paths and command lines as UTF-8: a path whose bytes are not UTF-8 is
    refused when the command line is read, where it once failed after the run folder was made."""
    out = os.fsdecode(os.fsencode(tmp_path) + b"/r\xe9")
    args = ["train", "--env", "mtml/CartPole-v0", "--method", "dr", "--timesteps", "64", "--out", out]
    with pytest.raises(SystemExit) as exited:
        cli_main(args)
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith(
        f"mtml-rl train: error: argument --out: {os.fsencode(out)!r} is not UTF-8 text; name it in UTF-8\n"
    )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit):
        cli_main(["evaluate", out])
    assert "argument RUN: " in capsys.readouterr().err


def test_a_grid_size_without_a_grid_is_refused_not_ignored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``evaluate RUN --grid-size 5`` evaluated without a heat map and said nothing."""
    assert (
        cli_main(["evaluate", str(tmp_path / "run"), "--grid-size", "5", "--out", str(tmp_path / "ev")]) == 2
    )
    assert capsys.readouterr().err == (
        "mtml-rl evaluate: error: --grid-size sets the points per parameter of --grid's heat map, which "
        "was not asked for; give --grid PARAM_A PARAM_B with it\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_argument_a_subcommand_does_not_take_is_named_by_that_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """argparse reported it as the program's (``mtml-rl: error: ...``, with the program's usage);
    a grid file given without ``--config`` is pointed to it."""
    with pytest.raises(SystemExit) as exited:
        cli_main(["benchmark", "grid.yaml"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "mtml-rl benchmark: error: unrecognized arguments: grid.yaml; a file of settings is given as "
        "--config grid.yaml\n(run `mtml-rl benchmark --help` for usage)\n"
    )
    with pytest.raises(SystemExit):
        cli_main(["train", "--env", "mtml/CartPole-v0", "--nope", "3"])
    assert capsys.readouterr().err.startswith("mtml-rl train: error: unrecognized arguments: --nope 3\n")


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("reproduce", ["--config", str(SCRIPTS.parent / "benchmarks" / "example.yaml"), "--out"]),
        ("tune", ["--env", "mtml/CartPole-v0", "--method", "dr", "--trials", "1", "--out"]),
        ("posture", []),
    ],
)
def test_a_script_given_a_path_that_is_not_utf8_refuses_it_before_anything_is_made(
    script: str, args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scripts read their command lines as the CLI does: ``reproduce.py --out`` once trained
    the grid and failed writing its report, ``tune.py --out`` failed after its first trial."""
    path = os.fsdecode(os.fsencode(tmp_path) + b"/r\xe9")
    with pytest.raises(SystemExit) as exited:
        load_script(script).main([*args, path])
    assert exited.value.code == 2
    flag = args[-1] if args else "runs"
    assert f"error: argument {flag}: {os.fsencode(path)!r} is not UTF-8 text" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_every_script_reads_its_command_line_through_parse_arguments() -> None:
    """A script that called ``parse_args`` itself would take a path that is not UTF-8 and fail
    after making its output (the test above shows the check; this one that no script skips it)."""
    direct = [path.name for path in sorted(SCRIPTS.glob("*.py")) if ".parse_args(" in path.read_text()]
    assert direct == []


@pytest.mark.slow  # a fresh interpreter
def test_a_grid_script_that_cannot_write_its_folder_says_so_in_one_line(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("")
    config = SCRIPTS.parent / "benchmarks" / "example.yaml"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "reproduce.py"), "--config", str(config), "--out", str(file / "grid")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"reproduce: error: {file} is a file, where a folder is needed"), (
        done.stderr
    )
    assert done.stderr.endswith("; choose another output path\n") and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"episodes": 0}, "--episodes must be a positive integer, got 0"),
        ({"trial": 0}, "--trial must be a positive integer, got 0"),
        ({"seed": -1}, "--seed must be an integer >= 0, got -1"),
        ({"video": -2}, "--video must be an integer >= 0, got -2"),
        (
            {"seed": 2**64},
            r"--seed must be at most 4,294,967,295 \(2\*\*32 - 1\), got 18,446,744,073,709,551,616",
        ),
        (
            {"num_threads": 100_000},  # torch crashed with a segmentation fault
            "--num-threads must be at most 1,024 torch threads, got 100,000; ask for about as many as the "
            "machine has cores, or 1 for reproducible runs",
        ),
        (
            {"grid_size": 1000},  # a million tasks, evaluated for hours before anything was said
            r"--grid-size 1000 draws 1,000,000 tasks; at most 316 per parameter "
            r"\(100,000 tasks, a split's most\)",
        ),
    ],
)
def test_an_evaluation_protocol_out_of_range_names_the_flag(fields: dict[str, int], message: str) -> None:
    from mtml_rl.evaluation.evaluate import EvalConfig

    with pytest.raises(ConfigError, match=f"^{message}$"):
        EvalConfig(**fields).validate()


GRID = "envs: [mtml/CartPole-v0]\nmethods: [dr]\ntimesteps: 512\n"
"""A valid grid file."""


@pytest.mark.parametrize(
    ("flags", "blamed"),
    [
        (["--timesteps", "0"], "grid.yaml with --timesteps from the command line: timesteps must be"),
        (
            ["--seeds", "-3", "--workers", "2"],
            "grid.yaml with --seeds, --workers from the command line: seeds",
        ),
    ],
)
def test_a_flag_over_a_grid_file_is_blamed_for_its_own_value(
    flags: list[str],
    blamed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``mtml-rl benchmark --config grid.yaml --timesteps 0`` said ``grid.yaml: timesteps must be a
    positive integer`` of a file that says 512; ``reproduce.py`` did the same."""
    monkeypatch.chdir(tmp_path)
    Path("grid.yaml").write_text(GRID)
    assert cli_main(["benchmark", "--config", "grid.yaml", *flags, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"mtml-rl benchmark: error: {blamed}")
    reproduce = load_script("reproduce")
    with pytest.raises(ConfigError, match="^" + blamed):
        reproduce.build_config(reproduce.parse_args(["--config", "grid.yaml", *flags]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.yaml"]


def test_a_grid_file_is_blamed_for_its_own_value_under_a_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("grid.yaml").write_text(GRID.replace("512", "0"))
    assert cli_main(["benchmark", "--config", "grid.yaml", "--seeds", "1", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("mtml-rl benchmark: error: grid.yaml: timesteps must be")
