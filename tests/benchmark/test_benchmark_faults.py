"""Faults a benchmark survives, with nothing lost: a second driver on the folder is refused
while the first finishes intact; a driver killed with SIGKILL mid-run leaves no worker behind,
and its rerun completes keeping every trial that had finished; damaged models and evaluations
are found, redone, and the rest is left untouched."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from benchmark_helpers import CARTPOLE, TINY_TRAIN, file_state, tiny_grid, trials_in_this_process
from process_helpers import children, kill_all, needs_proc, wait_until_gone

from mtml_rl.benchmark.runner import run_benchmark

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from mtml_rl.cli import main; sys.exit(main())"]


def write_grid(path: Path, out: Path, seeds: list[int], env: str = CARTPOLE) -> Path:
    """A tiny grid file (CartPole dr, 1000 steps, 2 evaluation episodes, a report without
    pictures) writing to ``out``."""
    grid = {
        "envs": [env],
        "methods": ["dr"],
        "seeds": seeds,
        "timesteps": 1000,
        "out": str(out),
        "train": TINY_TRAIN,
        "workers": 2,
        "evaluation": {
            "splits": ["test-interpolation"],
            "episodes": 2,
            "bootstrap_reps": 200,
            "figures": False,
        },
    }
    path.write_text(json.dumps(grid))  # JSON is YAML
    return path


def statuses(out: Path) -> dict[str, str]:
    """Each trial's status in ``trials.json`` ({} while there is none)."""
    try:
        return {t["name"]: t["status"] for t in json.loads((out / "trials.json").read_text())["trials"]}
    except (OSError, ValueError):
        return {}


def wait_for(condition: Any, what: str, patience_s: float = 600.0) -> None:
    deadline = time.monotonic() + patience_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def test_a_second_driver_is_refused_and_the_first_finishes_intact(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    grid = write_grid(tmp_path / "grid.yaml", out, [0, 1])
    first = subprocess.Popen(
        [*CLI, "benchmark", "--config", str(grid), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: statuses(out), "the first driver's manifest")
        second = subprocess.run(
            [*CLI, "benchmark", "--config", str(grid), "--quiet", "--force"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert second.returncode == 2, second.stderr
        assert f"is in use by PID {first.pid}" in second.stderr and "Traceback" not in second.stderr
        stdout, stderr = first.communicate(timeout=900)
    finally:
        first.kill()
    assert first.returncode == 0, stderr[-3000:]
    assert "2 trial(s): 2 finished (2 run now, 0 already done), 0 failed" in stdout
    assert statuses(out) == {"CartPole-dr-s0": "finished", "CartPole-dr-s1": "finished"}
    for name in ("CartPole-dr-s0", "CartPole-dr-s1"):
        assert json.loads((out / "runs" / name / "run.json").read_text())["status"] == "finished"
    assert sorted(p.name for p in out.rglob(".*.lock")) == []  # every lock released


@needs_proc
def test_a_killed_driver_leaves_no_worker_and_its_rerun_keeps_every_finished_trial(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    grid = write_grid(tmp_path / "grid.yaml", out, [0, 1, 2, 3])
    driver = subprocess.Popen(
        [*CLI, "benchmark", "--config", str(grid), "--quiet"], stdout=subprocess.DEVNULL
    )
    workers: list[int] = []
    try:
        wait_for(lambda: "finished" in statuses(out).values(), "a finished trial")
        workers = children(driver.pid)
        assert workers, "the driver has no worker processes"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert wait_until_gone(workers) == [], "a worker outlived its driver"
    finally:
        driver.kill()
        kill_all(workers)
    finished = sorted(n for n, s in statuses(out).items() if s == "finished")
    kept = {n: (file_state(out / "runs" / n), file_state(out / "eval" / n)) for n in finished}
    assert 0 < len(finished) < 4

    rerun = subprocess.run(
        [*CLI, "benchmark", "--config", str(grid), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = r"4 trial\(s\): 4 finished \((\d) run now, (\d) already done\), 0 failed"
    counts = re.search(summary, rerun.stdout)
    assert counts, rerun.stdout
    run_now, already_done = int(counts[1]), int(counts[2])
    # A worker writes its trial's files before it reports to the driver: a driver killed
    # between the two has not marked that trial finished, and the rerun finds it complete.
    assert run_now + already_done == 4 and already_done >= len(finished)
    for name, state in kept.items():  # nothing that had finished was touched
        assert (file_state(out / "runs" / name), file_state(out / "eval" / name)) == state
    assert set(statuses(out).values()) == {"finished"}
    assert (out / "report" / "report.md").is_file()


def _truncate(path: Path, size: int = 100) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _nan_return(path: Path) -> None:
    document = json.loads(path.read_text())
    document["episodes"][0]["ret"] = math.nan
    path.write_text(json.dumps(document))


def test_damaged_models_and_evaluations_are_redone_and_nothing_else_is_touched(
    tmp_path: Path, cartpole_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)  # eight benchmark runs: what they leave is checked
    spec = tmp_path / "custom.yaml"  # a spec file, not a registered id: the report must still work
    spec.write_text(json.dumps({**cartpole_data, "name": "Custom"}))
    grid = tiny_grid(tmp_path / "bench", envs=[str(spec)], workers=1)
    first = run_benchmark(grid, progress=False)
    assert first.ok and first.comparison is not None
    assert {row.spec for row in first.comparison.rows} == {"Custom"}
    runs, evals = grid.out_dir / "runs", grid.out_dir / "eval"
    s0, s1 = "Custom-dr-s0", "Custom-dr-s1"
    damages = [
        ("model.zip truncated to 100 bytes", lambda: _truncate(runs / s0 / "final" / "model.zip"), s0, True),
        ("model.zip garbled", lambda: _garble(runs / s1 / "final" / "model.zip"), s1, True),
        ("results.json truncated", lambda: _truncate(evals / s1 / "results.json", 500), s1, False),
        ("a NaN return in results.json", lambda: _nan_return(evals / s0 / "results.json"), s0, False),
        ("results.json deleted", lambda: (evals / s1 / "results.json").unlink(), s1, False),
        ("meta.json truncated", lambda: _truncate(runs / s0 / "final" / "meta.json", 3), s0, True),
        ("config.yaml truncated", lambda: _truncate(runs / s1 / "config.yaml", 200), s1, True),
    ]
    for what, damage, name, retrain in damages:
        other = s1 if name == s0 else s0
        untouched = (file_state(runs / other), file_state(evals / other))
        run_before = file_state(runs / name)
        damage()
        again = run_benchmark(grid, progress=False)
        assert again.ok, (what, [r.error for r in again.records])
        assert again.ran == [name] and again.skipped == [other], what
        assert list(again.repaired) == [name], what
        assert (file_state(runs / other), file_state(evals / other)) == untouched, what
        if not retrain:  # only the evaluation was redone
            assert file_state(runs / name) == run_before, what
        assert again.comparison is not None and again.comparison.rows[0].runs == 2, what
        assert math.isfinite(again.comparison.rows[0].mean_return), what


def test_a_stale_lock_of_a_dead_driver_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trials_in_this_process(monkeypatch)
    out = tmp_path / "bench"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from mtml_rl.locks import lock_folder\n"
            "with lock_folder(sys.argv[1]):\n print('locked', flush=True); time.sleep(600)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    result = run_benchmark(tiny_grid(out, seeds=[0], evaluation={"enabled": False}), progress=False)
    assert result.ok and result.ran == ["CartPole-dr-s0"]
