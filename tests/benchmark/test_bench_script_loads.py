"""``--load`` of ``scripts/bench_training.py`` and ``scripts/bench_adaptation.py``: a file the
script wrote reads back; anything else is refused in one message naming the file (a missing
file was a traceback)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from script_loading import load_script

from mtml_rl.benchmark.throughput import LearnTiming
from mtml_rl.errors import ConfigError


def test_bench_training_reads_back_what_save_wrote(tmp_path: Path) -> None:
    timing = LearnTiming(case="sb3", steps=100, seconds=1.0, cpu_seconds=0.9, peak_rss_mb=300.0)
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"timesteps": 100, "rounds": 1, "results": {"sb3": [timing.__dict__]}}))
    assert load_script("bench_training").load_saved(saved) == ({"sb3": [timing]}, 100, 1)


TIMING = {"case": "sb3", "steps": 100, "seconds": 1.0, "cpu_seconds": 0.9, "peak_rss_mb": 300.0}


@pytest.mark.parametrize(
    "content",
    [
        None,
        "{",
        '{"results": 3}',
        "[]",
        "[" * 100_000,
        json.dumps({"timesteps": 100, "rounds": 1, "results": {"sb3": [{**TIMING, "steps": "x"}]}}),
        json.dumps({"timesteps": "x", "rounds": 1, "results": {}}),
    ],
)
def test_bench_training_refuses_a_file_save_did_not_write(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "saved.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(f"--load {path} is not a file written by --save: ")):
        load_script("bench_training").load_saved(path)


def test_bench_adaptation_reads_back_its_results_and_refuses_other_files(tmp_path: Path) -> None:
    script = load_script("bench_adaptation")
    result = script.JobResult("CartPole", "dr", 0, {"train": [1.0]}, {"train": [1.5]})
    log = tmp_path / "results.jsonl"
    log.write_text(json.dumps(dataclasses.asdict(result)) + "\n\n")
    assert script.load_results(log) == [result]
    for content in (
        '{"results": 3}\n',
        "[" * 100_000 + "\n",
        json.dumps({**dataclasses.asdict(result), "seed": "0"}) + "\n",
    ):
        log.write_text(content)
        with pytest.raises(ConfigError, match=r"is not a results\.jsonl of this script: "):
            script.load_results(log)
    with pytest.raises(ConfigError, match=r"cannot be read \(No such file"):
        script.load_results(tmp_path / "missing.jsonl")


def test_bench_adaptation_summarizes_the_whole_results_of_a_log_cut_mid_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A benchmark stopped while appending a result leaves a line without its newline: the
    results before it are what ``--load`` is for (the whole file was refused)."""
    script = load_script("bench_adaptation")
    result = script.JobResult("CartPole", "dr", 0, {"train": [1.0]}, {"train": [1.5]})
    line = json.dumps(dataclasses.asdict(result))
    log = tmp_path / "results.jsonl"
    log.write_text(line + "\n" + line[: len(line) // 2])
    assert script.load_results(log) == [result]
    assert "the last line of" in capsys.readouterr().err
    log.write_text(line[: len(line) // 2] + "\n" + line + "\n")  # a damaged line inside is refused
    with pytest.raises(ConfigError, match=r"is not a results\.jsonl of this script: "):
        script.load_results(log)


def test_bench_adaptation_starts_its_log_afresh(tmp_path: Path) -> None:
    """Every job trains its run again, so an earlier invocation's results in the folder are of
    runs that are replaced: appended to, the log counted each job twice."""
    script = load_script("bench_adaptation")
    log = tmp_path / "results.jsonl"
    log.write_text('{"an": "earlier invocation"}\n')
    assert script.train_all([], workers=1, log=log) == []
    assert log.read_text() == ""
