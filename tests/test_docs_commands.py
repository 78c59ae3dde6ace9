"""Every command the README and ``docs/`` tell a user to type still parses: ``mtml-rl`` and
``python scripts/...`` command lines in shell blocks and code spans are parsed by the real
argument parsers (a renamed or removed flag, a bad choice or a subcommand that went away fails
here), the repository files they name exist, their env ids are registered, the config a
``train`` or ``evaluate`` command builds validates, and a grid command (``scripts/reproduce.py``,
``mtml-rl benchmark``) plans its trials with its flags applied, as the runner would before its
first trial. Nothing is trained: each command stops after parsing.
The Python examples' imports from ``mtml_rl`` resolve to names the package has.

Placeholders the pages use for a value the reader chooses (``SEED``, ``METHOD``, ``$SEEDS``)
are read as an example value; a command with an elided part (``...``) is skipped, and a bare
mention (``mtml-rl evaluate``, ``mtml-rl train --resume``) only has its names checked."""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from markdown_it import MarkdownIt
from script_loading import load_script

import mtml_rl  # noqa: F401  (registers the mtml/ env ids)
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.runner import longest_path_first
from mtml_rl.benchmark.trials import plan_grid
from mtml_rl.cli import benchmark_cmd, evaluate_cmd, train_cmd
from mtml_rl.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "examples" / "family_plugin" / "README.md",
]
"""The pages a user follows (the CHANGELOG records what commands were, and is left out)."""

COMMAND = re.compile(
    r"^(?:[A-Z_]+=\S+\s+)*(?:(?:/usr/bin/)?time(?:\s+-v)?\s+)?"  # env assignments, `time`
    r"((?:mtml-rl|python scripts/[a-z_0-9]+\.py)(?:\s.*)?)$"
)
"""A command line, after an optional environment prefix and ``time``: group 1 is the command."""

SHELL_FENCES = frozenset({"", "bash", "sh", "shell", "console"})

PLACEHOLDERS = {
    "SEED": "0",
    "$SEEDS": "0",
    "K": "2",
    "N": "8",
    "METHOD": "adapt",
    "NAME": "adapt",
    "ID": "mtml/CartPole-v0",
    "<id>": "mtml/CartPole-v0",
    "SPEC": "mtml/CartPole-v0",
    "ID_OR_FILE_OR_FAMILY": "mtml/CartPole-v0",
}
"""A whole argument standing for a value the reader picks, and the example value read for it."""

REPOSITORY_PATH = re.compile(r"^(?:benchmarks|examples|scripts|docs)/[\w./-]+$")
ENV_ID = re.compile(r"^(mtml/[\w.-]+)-v(\d+)$")


def known_env_id(env_id: str) -> bool:
    """Whether ``env_id`` is registered, or is an earlier version of a registered id: a
    measurement recorded with its commit names the id of its time (``mtml/AntGoal-v0``, which
    ``mtml/AntGoal-v1`` replaced; ``mtml-rl`` points from the old id to the new one)."""
    match = ENV_ID.match(env_id)
    assert match is not None
    name, version = match.group(1), int(match.group(2))
    return any(f"{name}-v{later}" in gym.registry for later in range(version, version + 10))


@dataclass(frozen=True)
class DocCommand:
    """One command line of a page."""

    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


class Parsed(Exception):
    """Raised in place of returning from ``parse_args``: the command parsed; nothing runs."""

    def __init__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
        super().__init__()
        self.parser = parser
        self.namespace = namespace


def _shell_lines(block: str) -> Iterator[tuple[int, str]]:
    """The lines of a shell block with continuations joined and comments dropped, with each
    line's offset in the block."""
    lines = block.split("\n")
    index = 0
    while index < len(lines):
        start, text = index, lines[index]
        while text.endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text[:-1] + " " + lines[index].strip()
        yield start, re.sub(r"(^|\s)#.*$", "", text).strip()
        index += 1


def _page_commands(page: Path) -> Iterator[DocCommand]:
    name = str(page.relative_to(ROOT))
    for token in MarkdownIt("commonmark").enable("table").parse(page.read_text(encoding="utf-8")):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "fence" and token.info.strip() in SHELL_FENCES:
            for offset, text in _shell_lines(token.content):
                if match := COMMAND.match(text):
                    yield DocCommand(name, line + 1 + offset, match.group(1).strip())
        for child in token.children or ():
            if child.type == "code_inline" and (match := COMMAND.match(child.content.strip())):
                yield DocCommand(name, line, match.group(1).strip())


@cache
def documented_commands() -> tuple[DocCommand, ...]:
    """Every command of :data:`PAGES`, the first place each is written."""
    seen: dict[str, DocCommand] = {}
    for page in PAGES:
        for command in _page_commands(page):
            seen.setdefault(command.text, command)
    return tuple(seen.values())


def _arguments(command: DocCommand) -> tuple[str, list[str]]:
    """The program (``mtml-rl`` or a script's path) and its arguments, placeholders filled."""
    tokens = [PLACEHOLDERS.get(token, token) for token in shlex.split(command.text)]
    return (tokens[0], tokens[1:]) if tokens[0] == "mtml-rl" else (tokens[1], tokens[2:])


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _parse(program: str, arguments: list[str]) -> Parsed:
    """Parse ``arguments`` with the program's own parser (a script's ``main`` is called and
    stopped where it parses); a usage error raises ``SystemExit``."""
    real_parse_args = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        raise Parsed(self, real_parse_args(self, args, namespace))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        try:
            if program == "mtml-rl":
                build_parser().parse_args(arguments)
            else:
                main = load_script(Path(program).stem).main
                patch.setattr(sys, "argv", [program, *arguments])
                main(arguments) if inspect.signature(main).parameters else main()
        except Parsed as parsed:
            return parsed
    raise AssertionError(f"{program} returned without parsing its command line")


def _check_mention(program: str, arguments: list[str]) -> bool:
    """Whether the command is a mention of names rather than a full command line (``mtml-rl
    evaluate``, ``mtml-rl train --resume``, ``python scripts/tune.py``); if so, check the names."""
    if program != "mtml-rl":
        return not arguments
    subcommands = _subparsers(build_parser())
    if len(arguments) == 1 and "/" in arguments[0]:  # train/evaluate/compare
        assert set(arguments[0].split("/")) <= set(subcommands), arguments[0]
        return True
    if arguments[1:] and not arguments[-1].startswith("--"):
        return False
    if arguments:
        assert arguments[0] in subcommands or arguments[0] == "--help", arguments[0]
    for flag in arguments[1:]:
        assert flag in subcommands[arguments[0]]._option_string_actions, flag
    return True


def _check_config(program: str, namespace: argparse.Namespace) -> None:
    """Build and validate what ``mtml-rl train`` and ``mtml-rl evaluate`` would run with (a flag
    argparse takes can still be one the config refuses: a number read as text, a bad value)."""
    if program != "mtml-rl":
        return
    if namespace.command == "train" and namespace.resume is None:
        if namespace.config is not None and not (ROOT / namespace.config).is_file():
            return  # a file of the reader's own (``my_run.yaml``)
        train_cmd.build_config(namespace)
    elif namespace.command == "evaluate":
        evaluate_cmd.config_from_args(namespace).validate()


def _grid(program: str, namespace: argparse.Namespace) -> BenchmarkConfig | None:
    """The grid a grid command would run, where its grid file is in the repository."""
    config = getattr(namespace, "config", None)
    if config is None or not (ROOT / config).is_file():
        return None
    if program == "mtml-rl":
        return benchmark_cmd.build_config(namespace) if namespace.command == "benchmark" else None
    if program == "scripts/reproduce.py":
        return load_script("reproduce").build_config(namespace)
    return None


def _needs_metaworld(command: DocCommand) -> bool:
    return ("metaworld" in command.text or "ML1_" in command.text or "MT10" in command.text) and (
        importlib.util.find_spec("metaworld") is None
    )


IMPORT = re.compile(r"^\s*from (mtml_rl[\w.]*) import \(?([\w, ]+)")


def documented_imports() -> list[tuple[str, str, str]]:
    """``(page, module, name)`` of every ``from mtml_rl... import name`` of a Python example."""
    found = []
    for page in PAGES:
        for token in MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8")):
            if token.type != "fence" or token.info.strip() != "python":
                continue
            for match in filter(None, map(IMPORT.match, token.content.splitlines())):
                names = [name.split(" as ")[0].strip() for name in match.group(2).split(",")]
                found += [(str(page.relative_to(ROOT)), match.group(1), name) for name in names if name]
    return found


def test_every_documented_import_resolves() -> None:
    imports = documented_imports()
    assert ("README.md", "mtml_rl.training", "TrainConfig") in imports
    missing = []
    for page, module, name in imports:
        if not hasattr(importlib.import_module(module), name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{page}: from {module} import {name}")
    assert not missing, missing


def test_the_pages_hold_commands_of_both_kinds() -> None:
    """The collection itself works: the README's quick reference and grid commands are found."""
    texts = {c.text for c in documented_commands()}
    assert "mtml-rl quickstart" in texts
    assert "python scripts/reproduce.py --config benchmarks/reproduce.yaml --workers 2 --quiet" in texts
    assert len(texts) > 100


@pytest.mark.slow  # a few hundred commands: CI checks them all, the edit-test loop none
@pytest.mark.parametrize("command", documented_commands(), ids=str)
def test_every_documented_command_parses(command: DocCommand, chdir_root: None) -> None:
    if "..." in command.text:
        pytest.skip("an elided command")
    if _needs_metaworld(command):
        pytest.skip("the metaworld extra is not installed (pip install 'mtml-rl[metaworld]')")
    program, arguments = _arguments(command)
    assert program == "mtml-rl" or (ROOT / program).is_file(), f"{command}: no {program}"
    for argument in arguments:
        assert not REPOSITORY_PATH.match(argument) or (ROOT / argument).exists(), f"{command}: no {argument}"
        assert not ENV_ID.match(argument) or known_env_id(argument), f"{command}: unknown id {argument}"
    try:
        parsed = _parse(program, arguments)
    except SystemExit as usage_error:
        if usage_error.code == 0 or _check_mention(program, arguments):  # --help, or a mention
            return
        raise AssertionError(f"{command}: `{command.text}` is refused by its parser") from usage_error
    _check_config(program, parsed.namespace)
    grid = _grid(program, parsed.namespace)
    if grid is not None:
        assert _plans(json.dumps(grid.to_dict(), sort_keys=True, default=str), grid)


_PLANNED: dict[str, bool] = {}


def _plans(key: str, grid: BenchmarkConfig) -> bool:
    """Whether ``grid`` plans its trials and orders them as the runner does before its first
    trial (once per distinct grid: many commands run the same one)."""
    if key not in _PLANNED:
        plan = plan_grid(grid)
        _PLANNED[key] = len(longest_path_first(plan.trials)) == len(plan.trials)
    return _PLANNED[key]


@pytest.fixture
def chdir_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths of the commands (``benchmarks/...``) resolve from the repository root."""
    monkeypatch.chdir(ROOT)
