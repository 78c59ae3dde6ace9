"""The training log (``logs/progress.csv``) is read strictly: a file that is not the CSV log
training writes is named as damaged, and a resume keeps it aside and logs afresh instead of
failing on it or writing after garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_helpers import small_config

from mtml_rl.training import resume, train
from mtml_rl.training.monitor import DAMAGED_LOG, DamagedLogError, read_log_rows, set_aside_damaged_log

HEADER = "time/total_timesteps,returns/train_episode_mean\n"


def _log(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "progress.csv").write_bytes(content)
    return tmp_path / "logs" / "progress.csv"


def test_a_log_training_writes_reads(tmp_path: Path) -> None:
    rows = read_log_rows(_log(tmp_path, (HEADER + "512,20.5\n1024,\n,3\n").encode()))
    assert rows == [
        ["time/total_timesteps", "returns/train_episode_mean"],
        ["512", "20.5"],
        ["1024", ""],
        ["", "3"],
    ]
    assert read_log_rows(_log(tmp_path, b"")) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x9c\x00\x01binary", "is not a CSV log: it is a binary file (it holds NUL bytes), not text"),
        (b"\xa9\x01 not utf-8", "is not a CSV log: it is not UTF-8 text (byte 0 is b'\\xa9')"),
        (b"a,b\n1,2\n", "has no time/total_timesteps column in its header"),
        ((HEADER + "512,1\nxx,2\n").encode(), "is damaged: its row 3 is not a row of the log"),
        ((HEADER + "512,1,extra\n").encode(), "is damaged: its row 2 is not a row of the log"),
        ((HEADER + "nan,1\n").encode(), "is damaged: its row 2 is not a row of the log"),
    ],
)
def test_a_log_that_is_not_what_training_writes_is_named(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    with pytest.raises(DamagedLogError) as caught:
        read_log_rows(_log(tmp_path, content))
    assert caught.value.problem == problem
    assert str(caught.value) == f"{tmp_path / 'logs' / 'progress.csv'} {problem}"


def test_a_damaged_log_is_kept_aside_under_a_free_name(tmp_path: Path) -> None:
    assert set_aside_damaged_log(tmp_path / "logs") is None  # no log: nothing to do
    _log(tmp_path, (HEADER + "512,1\n").encode())
    assert set_aside_damaged_log(tmp_path / "logs") is None  # a good log stays
    for name in (DAMAGED_LOG, "progress.damaged-2.csv"):
        _log(tmp_path, b"\xa9 garbled")
        kept, problem = set_aside_damaged_log(tmp_path / "logs") or (None, "")
        assert kept == tmp_path / "logs" / name and kept.read_bytes() == b"\xa9 garbled"
        assert problem.startswith("is not a CSV log")
        assert not (tmp_path / "logs" / "progress.csv").exists()


def test_a_resume_over_a_damaged_log_keeps_it_and_logs_afresh(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(small_config(run_dir, timesteps=1024, save_freq=512), progress=False)
    garbage = b"\x00\x9c" * 500
    (run_dir / "logs" / "progress.csv").write_bytes(garbage)
    said: list[str] = []
    run = resume(run_dir, timesteps=2048, progress=False, note=said.append)
    assert run.model.num_timesteps == 2048
    assert said[-1] == (
        f"{run_dir / 'logs' / 'progress.csv'} is not a CSV log: it is a binary file (it holds NUL "
        f"bytes), not text: kept as {DAMAGED_LOG}; the log starts again"
    )
    assert (run_dir / "logs" / DAMAGED_LOG).read_bytes() == garbage
    header, *rows = read_log_rows(run_dir / "logs" / "progress.csv")
    col = header.index("time/total_timesteps")
    steps = [float(row[col]) for row in rows if row[col]]
    assert steps and min(steps) > 1024 and max(steps) == 2048  # the new log holds the new steps
    assert json.loads((run_dir / "run.json").read_text()) == {"status": "finished", "steps": 2048}
