"""A list of seeds names each seed once. ``scripts/tune.py --seeds 0 0`` scored every trial on
the same run twice, as two seeds; the pooled scripts ran two jobs into one run folder."""

from __future__ import annotations

import argparse

import pytest
from script_loading import SCRIPTS, load_script

from mtml_rl.cli.arguments import DistinctValues


def test_a_value_given_twice_is_a_usage_error_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--seeds", nargs="+", type=int, action=DistinctValues)
    assert parser.parse_args(["--seeds", "2", "0", "1"]).seeds == [2, 0, 1]
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--seeds", "0", "1", "0", "1", "2"])
    assert caught.value.code == 2
    assert "argument --seeds: 0, 1 given more than once; give each once" in capsys.readouterr().err


class Parsed(Exception):
    """Raised in place of parsing, carrying the parser a script built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _parser_of(script: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    def capture(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(Parsed) as caught:
        load_script(script).main([])
    return caught.value.parser


SEEDED_SCRIPTS = sorted(p.stem for p in SCRIPTS.glob("*.py") if '"--seeds"' in p.read_text(encoding="utf-8"))


def test_the_scripts_with_seeds_are_found() -> None:
    assert {"tune", "reproduce", "solved_budgets"} <= set(SEEDED_SCRIPTS)


@pytest.mark.parametrize("script", SEEDED_SCRIPTS)
def test_every_scripts_seeds_are_distinct_values(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = [a for a in _parser_of(script, monkeypatch)._actions if a.dest in ("seeds", "confirm_seeds")]
    assert seeds and all(isinstance(a, DistinctValues) for a in seeds)


def test_the_tuning_script_refuses_a_seed_twice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        load_script("tune").main(["--env", "mtml/CartPole-v0", "--method", "dr", "--seeds", "0", "0"])
    assert caught.value.code == 2 and "given more than once" in capsys.readouterr().err
