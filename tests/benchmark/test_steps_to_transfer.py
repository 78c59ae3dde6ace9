"""``scripts/steps_to_transfer.py``: held-out normalized score against total environment steps,
per checkpoint, with adapt's phase 2 counted (and run from each intermediate checkpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from process_helpers import children, kill_all, needs_proc, wait_until_gone
from test_solved_budgets import load_script
from tiny_runs import tiny_checkpointed_run

from mtml_rl.training import TrainConfig


def test_steps_to_target_is_the_first_total_at_which_the_seed_mean_reaches_it() -> None:
    script = load_script("steps_to_transfer")
    point = script.Point
    points = [
        point("adapt", 0, 1500, 0.95, 0.0),
        point("adapt", 1, 1500, 0.80, 0.0),  # mean 0.875: not yet
        point("adapt", 0, 2500, 0.92, 0.0),
        point("adapt", 1, 2500, 0.90, 0.0),  # mean 0.91
        point("rl2", 0, 1000, 0.5, 0.0),
    ]
    curve = script.curves(points)["adapt"]
    assert curve == [(1500, pytest.approx(0.875), 2), (2500, pytest.approx(0.91), 2)]
    assert script.steps_to_target(curve, 0.9) == 2500
    text = script.table(points, 0.9)
    assert "| adapt | 2,500 |" in text and "| rl2 | not reached |" in text


@pytest.mark.parametrize(
    ("method", "extra"),
    [("dr", 0), ("oracle", 0), ("rl2", 0), ("history", 0), ("pearl", 0), ("finetune", 0), ("adapt", 20_000)],
)
def test_the_x_axis_is_environment_steps_not_a_scheduling_cost(method: str, extra: int) -> None:
    # rl2's and finetune's scheduling costs count their steps twice; the curve must not
    algo = "sac" if method == "pearl" else "ppo"
    config = TrainConfig(env="mtml/Pendulum-v0", method=method, algo=algo, adapt_timesteps=20_000)
    assert config.resolved_method().environment_steps(config, 50_000) == 50_000 + extra


def test_fewer_than_one_worker_is_refused_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script("steps_to_transfer")
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(["--runs", "r", "--workers", "0"])
    assert exit_info.value.code == 2
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err


def test_every_keeps_the_checkpoints_at_its_multiples_before_the_final_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("steps_to_transfer")
    for steps in (25_000, 50_000, 75_000, 100_000, 200_000, 1_000_000):
        (tmp_path / "checkpoints" / f"step_{steps}").mkdir(parents=True)
    kept = script.scored_checkpoints(tmp_path, 1_000_000, 50_000)
    assert [p.name for p in kept] == ["step_50000", "step_100000", "step_200000"]
    assert len(script.scored_checkpoints(tmp_path, 1_000_000, None)) == 5
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(["--runs", "r", "--every", "0"])
    assert exit_info.value.code == 2
    assert "--every must be at least 1 step, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_an_adapt_run_is_an_oracle_reference_and_a_history_run_is_refused(tmp_path: Path) -> None:
    """A grid with ``oracle`` and ``adapt`` trains no oracle run: ``adapt``'s, deployed as the
    oracle, gives the same reference returns as an oracle run of the same config."""
    import mtml_rl
    from mtml_rl.specs.splits import build_splits

    script = load_script("steps_to_transfer")
    adapt, oracle, history = (tiny_checkpointed_run(tmp_path, m) for m in ("adapt", "oracle", "history"))
    spec = mtml_rl.resolve_spec("mtml/CartPole-v0")
    tasks = list(build_splits(spec)["test-interpolation"].tasks)[:4]
    as_oracle = script.reference_returns([adapt], spec, tasks, 1, 100)
    assert as_oracle.tolist() == script.reference_returns([oracle], spec, tasks, 1, 100).tolist()
    with pytest.raises(SystemExit, match="a history run holds no privileged policy"):
        script.reference_returns([history], spec, tasks, 1, 100)


@pytest.mark.slow
def test_every_checkpoint_is_scored_and_adapt_counts_its_phase_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("steps_to_transfer")
    adapt, history, oracle = (tiny_checkpointed_run(tmp_path, m) for m in ("adapt", "history", "oracle"))
    out = tmp_path / "points.json"
    figure = tmp_path / "steps.png"
    script.main(
        [
            "--runs",
            adapt,
            history,
            "--oracle",
            oracle,
            "--episodes",
            "1",
            "--json",
            str(out),
            "--figure",
            str(figure),
        ]
    )
    written = json.loads(out.read_text())
    assert {k: written[k] for k in ("spec", "split", "episodes", "seed", "oracle", "runs")} == {
        "spec": "mtml/CartPole-v0",
        "split": "test-interpolation",
        "episodes": 1,
        "seed": 100,
        "oracle": [oracle],
        "runs": [adapt, history],
    }
    assert written["tasks"] > 0
    points = written["points"]
    # checkpoints at 256 steps and the final model at 512; adapt + 64 phase-2 steps at each
    assert [(p["method"], p["steps"]) for p in points] == [
        ("adapt", 256 + 64),
        ("adapt", 512 + 64),
        ("history", 256),
        ("history", 512),
    ]
    assert all(isinstance(p["score"], float) for p in points)
    assert {p["algo"] for p in points} == {"ppo"}  # each point says what it was trained with
    assert figure.stat().st_size > 0
    text = capsys.readouterr().out
    assert "| adapt | 320 |" in text and "| history | 512 |" in text


@pytest.mark.slow
def test_scoring_over_worker_processes_gives_the_same_points_in_the_same_order(tmp_path: Path) -> None:
    script = load_script("steps_to_transfer")
    adapt, oracle = (tiny_checkpointed_run(tmp_path, m) for m in ("adapt", "oracle"))
    common = ["--runs", adapt, oracle, "--oracle", oracle, "--episodes", "1"]
    script.main([*common, "--json", str(tmp_path / "one.json")])
    path = Path(script.__file__)
    subprocess.run(  # spawned workers re-import the script as __main__, as users run it
        [sys.executable, str(path), *common, "--workers", "2", "--json", str(tmp_path / "two.json")],
        check=True,
        capture_output=True,
    )
    one, two = (json.loads((tmp_path / name).read_text())["points"] for name in ("one.json", "two.json"))
    assert [(p["method"], p["steps"]) for p in two] == [
        ("adapt", 256 + 64),
        ("adapt", 512 + 64),
        ("oracle", 256),
        ("oracle", 512),
    ]
    assert two == one


def scored_record(
    runs: list[str], points: list[tuple[str, int, int, float]], **changes: Any
) -> dict[str, Any]:
    """A ``--json`` record as the script writes it, with hand-made points."""
    record: dict[str, Any] = {
        "spec": "mtml/CartPole-v0",
        "split": "test-interpolation",
        "tasks": 4,
        "episodes": 2,
        "seed": 100,
        "every": 100,
        "reference": "oracle runs",
        "oracle": ["runs/oracle-s0"],
        "runs": runs,
        "target": 0.9,
        "points": [
            {"method": m, "seed": s, "steps": n, "score": score, "mean_return": 100 * score}
            for m, s, n, score in points
        ],
    }
    return {**record, **changes}


def test_separate_scorings_are_merged_into_one_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("steps_to_transfer")
    adapt = scored_record(["runs/adapt-s0"], [("adapt", 0, 300, 0.5), ("adapt", 0, 600, 0.95)])
    rl2 = scored_record(["runs/rl2-s0"], [("rl2", 0, 300, 0.4), ("rl2", 0, 1200, 0.92)], every=200)
    files = []
    for name, content in (("adapt.json", adapt), ("rl2.json", rl2)):
        (tmp_path / name).write_text(json.dumps(content))
        files.append(str(tmp_path / name))
    out, figure = tmp_path / "all.json", tmp_path / "all.png"
    assert script.main(["--merge", *files, "--json", str(out), "--figure", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "| adapt | 600 |" in text and "| rl2 | 1,200 |" in text
    merged = json.loads(out.read_text())
    assert merged["runs"] == ["runs/adapt-s0", "runs/rl2-s0"] and merged["every"] == [100, 200]
    assert merged["points"] == adapt["points"] + rl2["points"]
    assert figure.stat().st_size > 0


def test_a_merged_record_merges_again(tmp_path: Path) -> None:
    script = load_script("steps_to_transfer")
    merged = scored_record(["runs/adapt-s0", "runs/rl2-s0"], [("adapt", 0, 300, 0.5)], every=[100, 200])
    pearl = scored_record(["runs/pearl-s0"], [("pearl", 0, 25, 0.3)], every=25)
    (tmp_path / "merged.json").write_text(json.dumps(merged))
    (tmp_path / "pearl.json").write_text(json.dumps(pearl))
    out = tmp_path / "all.json"
    files = [str(tmp_path / "merged.json"), str(tmp_path / "pearl.json")]
    assert script.main(["--merge", *files, "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert again["every"] == [100, 200, 25]
    assert again["runs"] == ["runs/adapt-s0", "runs/rl2-s0", "runs/pearl-s0"]


def test_a_method_trained_with_two_algorithms_gets_a_line_per_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``adapt`` trained with PPO in one record and with SAC in another is two curves, never one
    averaged line; a record written before algorithms were recorded keeps the bare name."""
    script = load_script("steps_to_transfer")
    old = scored_record(["runs/adapt-ppo-s0"], [("adapt", 0, 300, 0.8), ("adapt", 0, 500, 0.93)])
    new = scored_record(["runs/adapt-sac-s0"], [("adapt", 0, 100, 0.5), ("adapt", 0, 150, 0.92)])
    new["points"] = [{**p, "algo": "sac"} for p in new["points"]]
    rl2 = scored_record(["runs/rl2-s0"], [("rl2", 0, 400, 0.91)])
    rl2["points"] = [{**p, "algo": "ppo"} for p in rl2["points"]]
    files = []
    for name, content in (("old.json", old), ("new.json", new), ("rl2.json", rl2)):
        (tmp_path / name).write_text(json.dumps(content))
        files.append(str(tmp_path / name))
    assert script.main(["--merge", *files]) == 0
    text = capsys.readouterr().out
    assert "| adapt | 500 |" in text and "| adapt (sac) | 150 |" in text and "| rl2 | 400 |" in text
    point = script.Point
    both = [point("adapt", 0, 100, 0.5, 0.0, "ppo"), point("adapt", 0, 100, 0.9, 0.0, "sac")]
    assert list(script.curves(both)) == ["adapt (ppo)", "adapt (sac)"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": "test-extrapolation"}, "scored differently (split"),
        ({"runs": ["runs/adapt-s0"]}, "more than one"),
    ],
)
def test_records_scored_differently_or_sharing_a_run_are_not_merged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    script = load_script("steps_to_transfer")
    first = scored_record(["runs/adapt-s0"], [("adapt", 0, 300, 0.5)])
    second = {**scored_record(["runs/rl2-s0"], [("rl2", 0, 300, 0.4)]), **change}
    (tmp_path / "a.json").write_text(json.dumps(first))
    (tmp_path / "b.json").write_text(json.dumps(second))
    out = tmp_path / "all.json"
    assert (
        script.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_runs_and_merge_exclude_each_other() -> None:
    script = load_script("steps_to_transfer")
    for argv in ([], ["--runs", "r", "--merge", "a.json"]):
        with pytest.raises(SystemExit) as exit_info:
            script.parse_args(argv)
        assert exit_info.value.code == 2


@pytest.mark.slow
@needs_proc
def test_a_killed_driver_leaves_no_worker_scoring_on(tmp_path: Path) -> None:
    script = load_script("steps_to_transfer")
    oracle = tiny_checkpointed_run(tmp_path, "oracle")
    runs = [oracle] * 4  # enough checkpoints to keep both workers busy for a while
    driver = subprocess.Popen(
        [
            sys.executable,
            script.__file__,
            "--runs",
            *runs,
            "--oracle",
            oracle,
            "--episodes",
            "30",
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and driver.poll() is None and time.monotonic() < deadline:
            workers = [pid for pid in children(driver.pid) if "spawn_main" in _command(pid)]
            time.sleep(0.05)
        assert len(workers) == 2, "the driver ended before both workers were seen"
        driver.kill()
        driver.wait()
        assert wait_until_gone(workers, patience_s=30) == []
    finally:
        driver.kill()
        kill_all(workers)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "is not a --json file of this script"),
        ('{"spec": "mtml/CartPole-v0"}', "(no split, tasks"),
        ("{not json", "Expecting property name"),
        ("[" * 100_000, "is not JSON (maximum recursion depth exceeded"),
    ],
)
def test_a_file_that_is_no_record_is_named_and_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    script = load_script("steps_to_transfer")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(scored_record(["runs/adapt-s0"], [("adapt", 0, 300, 0.5)])))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert script.main(["--merge", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    broken = scored_record(["runs/rl2-s0"], [("rl2", 0, 300, 0.4)])
    broken["points"][0].pop("score")
    bad.write_text(json.dumps(broken))
    assert script.main(["--merge", str(good), str(bad)]) == 2
    assert f"{bad} has a malformed point" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"runs": "runs/rl2-s0"}, "has malformed runs (a list of run folders, got 'runs/rl2-s0')"),
        ({"points": 3}, "has malformed points (a list of points, got 3)"),
        ({"points": [3]}, "has a malformed point (int, not an object)"),
        (
            {"points": [{"method": "rl2", "seed": 0, "steps": "300", "score": 0.4, "mean_return": 1.0}]},
            "(a value of another type: steps '300')",
        ),
    ],
)
def test_a_record_of_other_types_is_refused_in_one_line(
    change: dict[str, object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fields of other types passed the check and failed later in a traceback (a text step
    count when the table was printed)."""
    script = load_script("steps_to_transfer")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**scored_record(["runs/rl2-s0"], [("rl2", 0, 300, 0.4)]), **change}))
    assert script.main(["--merge", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("steps_to_transfer.py: error: cannot merge")
        and message in err
        and err.count("\n") == 1
    )
