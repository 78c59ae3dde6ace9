"""Ctrl-C (or SIGTERM) ends every command with one line saying what is left and how to go on,
in that command's own terms: a training's checkpoint, a grid's finished trials, an evaluation
or comparison that wrote nothing (they said "the last checkpoint is whole and resumable", a
training's line, whatever had been stopped)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from mtml_rl.cli import benchmark_cmd, compare_cmd, evaluate_cmd, list_cmd, quickstart_cmd, train_cmd
from mtml_rl.cli.main import SUBCOMMANDS, main

ARGUMENTS = {
    list_cmd: ["list"],
    train_cmd: ["train", "--env", "mtml/CartPole-v0"],
    evaluate_cmd: ["evaluate", "runs/x"],
    compare_cmd: ["compare", "runs/x"],
    benchmark_cmd: ["benchmark"],
    quickstart_cmd: ["quickstart"],
}


def test_every_subcommand_is_covered() -> None:
    assert set(ARGUMENTS) == set(SUBCOMMANDS)


@pytest.mark.parametrize("module", list(ARGUMENTS), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_an_interrupted_command_says_how_to_go_on_in_its_own_terms(
    module: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    assert main(ARGUMENTS[module]) == 130
    command = ARGUMENTS[module][0]
    assert capsys.readouterr().err == f"mtml-rl {command}: interrupted; {module.AFTER_INTERRUPT}\n"
    mentions_checkpoints = "checkpoint" in module.AFTER_INTERRUPT
    assert mentions_checkpoints == (module in (train_cmd, benchmark_cmd, quickstart_cmd))
