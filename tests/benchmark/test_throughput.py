"""The timing harness of the speed scripts: ``learn`` timed alone, one case per interpreter,
ratios paired per round."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gymnasium as gym
import pytest
from stable_baselines3 import PPO

from mtml_rl.benchmark.throughput import (
    LearnTiming,
    paired_ratios,
    print_before_and_after,
    run_rounds,
    run_worker,
    time_learn,
)
from mtml_rl.training.monitor import silence_logger


class FakeModel:
    """Counts the steps ``learn`` is asked for, as SB3's ``num_timesteps`` does."""

    def __init__(self) -> None:
        self.num_timesteps = 0
        self.calls: list[tuple[int, bool]] = []
        self.loggers: list[object] = []

    def set_logger(self, logger: object) -> None:
        self.loggers.append(logger)

    def learn(self, total_timesteps: int, progress_bar: bool) -> None:
        self.calls.append((total_timesteps, progress_bar))
        self.num_timesteps += total_timesteps


def test_time_learn_trains_once_without_a_progress_bar_and_reports_the_steps() -> None:
    model = FakeModel()
    timing = time_learn(model, 300, "case", "pendulum")
    assert model.calls == [(300, False)] and len(model.loggers) == 1
    assert (timing.case, timing.family, timing.steps) == ("case", "pendulum", 300)
    assert timing.seconds > 0 and timing.cpu_seconds >= 0 and timing.peak_rss_mb > 0


def test_a_silenced_model_learns_without_leaving_a_log_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3's default logger writes
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    model = PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=32, batch_size=32, n_epochs=1, device="cpu")
    silence_logger(model)
    model.learn(total_timesteps=32)
    assert model.num_timesteps == 32 and list(tmp_path.glob("SB3-*")) == []
    PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=32, batch_size=32, device="cpu").learn(32)
    assert len(list(tmp_path.glob("SB3-*"))) == 1  # what the silencing avoids


def test_a_worker_timing_round_trips_through_its_printed_line(tmp_path: Path) -> None:
    timing = LearnTiming("now", 1000, 2.0, 4.0, 123.0, "pointnav")
    script = tmp_path / "worker.py"
    script.write_text(f"print('building...')\nprint({timing.to_json()!r})\n")
    assert run_worker(str(script), []) == timing
    assert timing.steps_per_second == 500 and timing.steps_per_cpu_second == 250


def test_a_failed_worker_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text("import sys\nsys.exit('no such case')\n")
    with pytest.raises(RuntimeError, match="no such case"):
        run_worker(str(script), ["--worker", "x"])


def test_ratios_are_paired_per_round_on_wall_or_cpu_time() -> None:
    case = [LearnTiming("a", 100, 1.0, 2.0), LearnTiming("a", 100, 2.0, 2.0)]
    reference = [LearnTiming("r", 100, 2.0, 4.0), LearnTiming("r", 100, 2.0, 1.0)]
    assert paired_ratios(case, reference, cpu=False) == [2.0, 1.0]
    assert paired_ratios(case, reference, cpu=True) == [2.0, 0.5]
    with pytest.raises(ValueError):
        paired_ratios(case, reference[:1], cpu=True)  # rounds must pair up


def test_rounds_interleave_the_cases_and_the_table_pairs_them_with_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    order: list[tuple[str, str]] = []
    cpu_seconds = {"before": 4.0, "now": 2.0, "ref": 1.0}

    def measure(family: str, case: str) -> LearnTiming:
        order.append((family, case))
        return LearnTiming(case, 100, cpu_seconds[case], cpu_seconds[case], family=family)

    results = run_rounds(["f"], ["before", "now", "ref"], 2, measure, log=lambda line: None)
    assert order == [("f", "before"), ("f", "now"), ("f", "ref")] * 2
    print_before_and_after(results, ["before", "now", "ref"], "ref", goal=3.0)
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("f ")}
    assert "2.00x" in rows["now"] and "below (goal 3x)" in rows["now"]  # 2x before, under the goal
    assert "0.50x" in rows["now"]  # against the reference, on CPU time
    assert "0.25x" in rows["before"] and "1.00x" in rows["before"]
