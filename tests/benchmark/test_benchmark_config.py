"""Grid files and flags: strict validation, overrides, planning; bad input exits 2 with one message."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmark_helpers import CARTPOLE, tiny_grid

from mtml_rl.benchmark import config as benchmark_config
from mtml_rl.benchmark import runner
from mtml_rl.benchmark.config import BenchmarkConfig
from mtml_rl.benchmark.runner import estimated_cost, longest_path_first, run_benchmark
from mtml_rl.benchmark.trials import plan_trials
from mtml_rl.cli.main import main
from mtml_rl.errors import ConfigError, MtmlError, MtmlWarning


def write_grid(path: Path, data: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI, require exit code 2 and exactly one line on stderr; return it."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"mtml-rl {argv[0]}: error: ")
    return lines[0]


def test_grid_file_loads_with_counts_overrides_and_relative_paths(tmp_path: Path) -> None:
    spec = tmp_path / "MySpec.yaml"
    data = yaml.safe_load((Path(__file__).parents[2] / "envs" / "CartPole.yaml").read_text())
    spec.write_text(yaml.safe_dump({**data, "name": "MyCartPole"}))
    grid = write_grid(
        tmp_path / "grid.yaml",
        {
            "envs": ["MySpec.yaml", CARTPOLE],
            "methods": ["dr", "adapt"],
            "seeds": 2,
            "timesteps": 500,
            "out": str(tmp_path / "results"),
            "train": {"n_envs": 4, "hyperparams": {"n_steps": 32, "n_epochs": 1}},
            "env_overrides": {
                "CartPole": {"timesteps": 700},
                "MySpec.yaml": {"n_envs": 2},
                "mtml/Pendulum-v0": {"algo": "sac"},
            },
            "method_overrides": {"adapt": {"adapt_timesteps": 100, "hyperparams": {"n_epochs": 2}}},
            "cell_overrides": {
                "MySpec.yaml": {"adapt": {"timesteps": 900, "hyperparams": {"n_steps": 16}}},
                "mtml/Pendulum-v0": {"dr": {"algo": "sac"}},
            },
        },
    )
    config = BenchmarkConfig.from_yaml(grid)
    assert config.seeds == [0, 1]
    assert config.envs[0] == str(spec)
    trials = {t.name: t for t in plan_trials(config)}
    assert len(trials) == 2 * 2 * 2
    assert trials["MyCartPole-dr-s0"].env == str(spec)
    assert trials["MyCartPole-dr-s0"].config["n_envs"] == 2
    assert trials["MyCartPole-dr-s0"].config["timesteps"] == 500
    cart_adapt = next(t for t in trials.values() if t.env == CARTPOLE and t.method == "adapt" and t.seed == 1)
    assert cart_adapt.config["timesteps"] == 700
    assert cart_adapt.config["adapt_timesteps"] == 100
    assert cart_adapt.config["hyperparams"] == {"n_steps": 32, "n_epochs": 2}
    assert cart_adapt.config["num_threads"] == 1
    assert Path(cart_adapt.run_dir).is_absolute()
    assert Path(cart_adapt.run_dir) == (tmp_path / "results" / "runs" / cart_adapt.name).resolve()
    mine_adapt = trials["MyCartPole-adapt-s0"].config  # the cell's fields come last
    assert (mine_adapt["timesteps"], mine_adapt["n_envs"], mine_adapt["adapt_timesteps"]) == (900, 2, 100)
    assert mine_adapt["hyperparams"] == {"n_steps": 16, "n_epochs": 2}
    assert trials["MyCartPole-dr-s0"].config["timesteps"] == 500  # another method of that env
    assert trials["CartPole-adapt-s0"].config["hyperparams"]["n_steps"] == 32  # another env


def test_two_specs_of_one_name_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "CartPole.yaml"
    spec.write_text((Path(__file__).parents[2] / "envs" / "CartPole.yaml").read_text())
    with pytest.raises(ConfigError, match="share the spec name"):
        plan_trials(tiny_grid(tmp_path / "out", envs=[str(spec), CARTPOLE]))


def test_two_specs_whose_names_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    """On macOS and Windows ``CartPole-dr-s0`` and ``cartpole-dr-s0`` are one run folder."""
    text = (Path(__file__).parents[2] / "envs" / "CartPole.yaml").read_text()
    spec = tmp_path / "lower.yaml"
    spec.write_text(text.replace("name: CartPole", "name: cartpole", 1))
    with pytest.raises(ConfigError) as caught:
        plan_trials(tiny_grid(tmp_path / "out", envs=[CARTPOLE, str(spec)]))
    assert str(caught.value).startswith("trials CartPole-dr-s0 and cartpole-dr-s0 differ only in case")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"envs": [CARTPOLE], "method": ["dr"]}, "unknown key 'method'; did you mean 'methods'"),
        (
            {"envs": [CARTPOLE], "evaluation": {"episode": 2}},
            "unknown key 'episode'; did you mean 'episodes'",
        ),
        ({"envs": [CARTPOLE], "evaluation": {"figures": "no"}}, "evaluation.figures must be true or false"),
        (
            {"envs": [CARTPOLE], "evaluation": {"splits": ["train", "test-interpolaton"]}},
            "evaluation.splits: unknown split 'test-interpolaton'; did you mean 'test-interpolation'?",
        ),
        ({"envs": [CARTPOLE], "evaluation": {"splits": ["tset"]}}, "the splits are train, test-"),
        ({"envs": [CARTPOLE], "train": {"timestep": 5}}, "unknown TrainConfig field 'timestep'"),
        ({"envs": [CARTPOLE], "train": {"seed": 5}}, "'seed' is set by the grid"),
        ({"envs": [CARTPOLE], "methods": ["adpat"]}, "unknown method 'adpat'; did you mean 'adapt'"),
        ({"envs": [CARTPOLE], "backend": "slurm"}, "unknown backend 'slurm'"),
        ({"envs": [CARTPOLE], "threads_per_worker": 5000}, "threads_per_worker must be at most 1,024"),
        ({"envs": [CARTPOLE], "seeds": [0, 0]}, "seeds lists a value twice"),
        ({"envs": [CARTPOLE], "address": "1.2.3.4:6379"}, "address is for the ray backend"),
        ({"methods": ["dr"]}, "missing required key(s) envs"),
        ({"envs": [CARTPOLE], "env_overrides": {"mtml/Pendulm-v0": {}}}, "did you mean 'mtml/Pendulum-v0'"),
        (
            {"envs": [CARTPOLE], "cell_overrides": {"mtml/Pendulm-v0": {"dr": {}}}},
            "cell_overrides: unknown environment id 'mtml/Pendulm-v0'; did you mean 'mtml/Pendulum-v0'",
        ),
        (
            {"envs": [CARTPOLE], "cell_overrides": {CARTPOLE: {"adpat": {}}}},
            "unknown method 'adpat'; did you mean 'adapt'",
        ),
        (
            {"envs": [CARTPOLE], "cell_overrides": {CARTPOLE: {"rl2": {"timestep": 5}}}},
            f"cell_overrides.{CARTPOLE}.rl2: unknown TrainConfig field 'timestep'",
        ),
        ({"envs": [CARTPOLE], "cell_overrides": {CARTPOLE: {"dr": {"seed": 1}}}}, "'seed' is set by"),
        ({"envs": [CARTPOLE], "cell_overrides": {CARTPOLE: [1]}}, "must map methods to TrainConfig fields"),
        ({"envs": [CARTPOLE], "cell_overrides": [CARTPOLE]}, "cell_overrides must map an env"),
        (
            {"envs": [CARTPOLE], "method_overrides": {"dr": {"adapt_timesteps": 5000}}},
            "method_overrides.dr: method dr does not read adapt_timesteps, so it would change nothing",
        ),
        (
            {"envs": [CARTPOLE], "cell_overrides": {CARTPOLE: {"rl2": {"latent_dim": 4, "history_len": 4}}}},
            f"cell_overrides.{CARTPOLE}.rl2: method rl2 does not read latent_dim, history_len, so they would",
        ),
    ],
)
def test_bad_grid_files_name_the_key_and_the_fix(
    tmp_path: Path, data: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        BenchmarkConfig.from_yaml(write_grid(tmp_path / "grid.yaml", data))
    assert message in str(info.value)
    assert str(tmp_path / "grid.yaml") in str(info.value)


def test_cli_unknown_key_in_grid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = write_grid(tmp_path / "grid.yaml", {"envs": [CARTPOLE], "seed": [0]})
    line = cli_error(capsys, ["benchmark", "--config", str(grid), "--quiet"])
    assert "unknown key 'seed'; did you mean 'seeds'?" in line
    assert not (tmp_path / "benchmark").exists()


def test_cli_unknown_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    line = cli_error(capsys, ["benchmark", "--envs", CARTPOLE, "--methods", "oracel", "--out", str(out)])
    assert "unknown method 'oracel'; did you mean 'oracle'?" in line
    assert not out.exists()


def test_cli_unknown_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    line = cli_error(capsys, ["benchmark", "--envs", "mtml/CartPol-v0", "--out", str(out)])
    assert "unknown environment id 'mtml/CartPol-v0'; did you mean 'mtml/CartPole-v0'?" in line
    assert not out.exists()


def test_cli_method_the_spec_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec_file: Callable[..., Path]
) -> None:
    path = spec_file(lambda data: data.update(privileged_context=False))
    argv = ["benchmark", "--envs", str(path), "--methods", "oracle", "--out", str(tmp_path / "out")]
    line = cli_error(capsys, argv)
    assert "privileged_context: false" in line
    assert not (tmp_path / "out").exists()


def test_cli_unreachable_ray_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "benchmark",
        "--envs",
        CARTPOLE,
        "--methods",
        "dr",
        "--timesteps",
        "100",
        "--out",
        str(tmp_path / "o"),
    ]
    line = cli_error(capsys, [*argv, "--backend", "ray", "--address", "127.0.0.1:1", "--quiet"])
    assert "cannot reach a Ray cluster at 127.0.0.1:1" in line
    assert "ray start --head" in line
    assert list(tmp_path.iterdir()) == []  # no folder, no trials.json, no lock file


def test_cli_malformed_ray_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "benchmark",
        "--envs",
        CARTPOLE,
        "--methods",
        "dr",
        "--out",
        str(tmp_path),
        "--address",
        "nowhere",
    ]
    assert "is not host:port" in cli_error(capsys, argv)


def test_cli_without_envs(capsys: pytest.CaptureFixture[str]) -> None:
    assert "pass --config FILE or --envs" in cli_error(capsys, ["benchmark"])


def test_a_finished_run_of_another_config_is_not_reused(tmp_path: Path) -> None:
    config = tiny_grid(tmp_path / "out", seeds=[0])
    trial = plan_trials(config)[0]
    run = Path(trial.run_dir)
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "finished", "steps": 64}))
    (run / "config.yaml").write_text(yaml.safe_dump({**trial.config, "timesteps": 64}))
    with pytest.raises(MtmlError, match="differs from this benchmark's in timesteps; use another --out"):
        run_benchmark(config, progress=False)


def _zero_width(data: dict[str, Any]) -> None:
    """Every varying parameter of the spec confined to one value: no split can be drawn."""
    data["parameters"] = {"length": {"train": [0.5, 0.5], "extrapolation": [1.5, 2.5]}}
    data.pop("combinatorial")
    data["splits"]["test-combinatorial"] = 0


@pytest.mark.slow
def test_cli_zero_width_region_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec_file: Callable[..., Path]
) -> None:
    path = spec_file(_zero_width)
    out = tmp_path / "work" / "out"
    argv = ["benchmark", "--envs", str(path), "--methods", "dr", "--timesteps", "100", "--out", str(out)]
    assert "could not draw 64 distinct tasks" in cli_error(capsys, argv)
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"envs: [a]\nenvs: [b]\n", "the key 'envs' twice", id="duplicate"),
        pytest.param(bytes(range(256)), "binary file", id="binary"),
        pytest.param(b"envs: " + b"[" * 3000 + b"]" * 3000, "deeper than", id="nested"),
        pytest.param("envs: [caf\u00e9]".encode("latin-1"), "not UTF-8", id="latin-1"),
        pytest.param(  # a hang until killed: the trials' configs copied billions of values
            b"train:\n  hyperparams:\n    a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + b"".join(f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n".encode() for i in range(1, 10)),
            "expand it to more than",
            id="billion-laughs",
        ),
    ],
)
def test_cli_unreadable_grid_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, words: str
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_bytes(data)
    line = cli_error(capsys, ["benchmark", "--config", str(grid), "--out", str(tmp_path / "out")])
    assert words in line and str(grid) in line
    assert not (tmp_path / "out").exists()


HOLDER = """
import sys
from mtml_rl.locks import lock_folder
with lock_folder(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of the benchmark folder ``tmp_path / "out"``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("force", [False, True])
def test_a_benchmark_folder_in_use_is_refused_and_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], held: subprocess.Popen[str], force: bool
) -> None:
    out = tmp_path / "out"
    (out / "runs" / "CartPole-dr-s0").mkdir(parents=True)
    (out / "runs" / "CartPole-dr-s0" / "run.json").write_text("{}")
    argv = [
        "benchmark",
        "--envs",
        CARTPOLE,
        "--methods",
        "dr",
        "--out",
        str(out),
        *(["--force"] if force else []),
    ]
    line = cli_error(capsys, argv)
    assert f"{out} is in use by PID {held.pid}" in line
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "runs",
        "runs/CartPole-dr-s0",
        "runs/CartPole-dr-s0/run.json",
    ]


def test_a_grid_evaluates_the_union_of_test_splits_and_orders_its_trials(tmp_path: Path) -> None:
    """``test`` (every test split together, as ``mtml-rl evaluate --split test`` takes it) is a
    split a grid may name; the runner's longest-chain order counts its tasks."""
    config = tiny_grid(tmp_path / "out", evaluation={"splits": ["train", "test"], "episodes": 1})
    trials = plan_trials(config)
    assert [t.evaluation["splits"] for t in trials if t.evaluation] == [["train", "test"]] * 2
    assert {t.name for t in longest_path_first(trials)} == {t.name for t in trials}
    assert estimated_cost(trials[0]) > 0


@pytest.mark.parametrize("holds", ["a run", "an evaluation"])
def test_a_grid_is_not_written_into_a_run_or_an_evaluation(tmp_path: Path, holds: str) -> None:
    out = tmp_path / "theirs"
    out.mkdir()
    (out / ("config.yaml" if holds == "a run" else "results.json")).write_text("{}\n")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ConfigError, match=f"holds {holds}, not a benchmark; choose another out"):
        run_benchmark(tiny_grid(out, seeds=[0]), progress=False)
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_grid_is_not_written_inside_a_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "run.json", "spec.yaml"):
        (run / name).write_text("{}\n")
    with pytest.raises(ConfigError, match=r"lies inside the run .*; choose its out \(--out\) outside it"):
        run_benchmark(tiny_grid(run / "grid", seeds=[0]), progress=False)
    assert not (run / "grid").exists()


def test_a_value_an_override_gives_that_the_config_refuses_names_the_trial(tmp_path: Path) -> None:
    grid = tiny_grid(
        tmp_path / "bench", seeds=[0], methods=["oracle"], method_overrides={"oracle": {"latent_dim": 0}}
    )
    with pytest.raises(
        ConfigError, match=r"^trial oracle s0 on mtml/CartPole-v0: latent_dim must be a positive"
    ):
        plan_trials(grid)
    assert not (tmp_path / "bench").exists()


def test_a_report_folder_holding_other_files_is_refused_before_any_trial(tmp_path: Path) -> None:
    """The grid trained and evaluated every trial and then refused to replace ``report/`` (a
    user's notes were in it), naming it as if it were the ``--out`` given."""
    grid = tiny_grid(tmp_path / "bench", seeds=[0], workers=1)
    (grid.out_dir / "report").mkdir(parents=True)
    (grid.out_dir / "report" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError) as info:
        run_benchmark(grid, progress=False)
    assert str(info.value) == (
        f"the grid's report folder {grid.out_dir / 'report'} exists, is not empty and holds no "
        "evaluation; move it, or give the grid another --out"
    )
    assert sorted(p.name for p in grid.out_dir.iterdir()) == ["report"]
    assert (grid.out_dir / "report" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("workers", "threads", "warned"), [(3, 1, True), (2, 1, False), (1, 2, False), (2, 2, True)]
)
def test_a_local_pool_larger_than_the_usable_cores_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, workers: int, threads: int, warned: bool
) -> None:
    """``--workers 8`` on 2 cores ran 8 trials at once with nothing said: the grid ends no
    sooner, and every trial's process holds its memory throughout."""
    monkeypatch.setattr(runner, "usable_cpus", lambda: 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner._warn_oversubscribed(workers, threads)
    messages = [str(w.message) for w in caught if issubclass(w.category, MtmlWarning)]
    expected = f"{workers} workers x {threads} torch thread(s) on 2 usable CPU core(s)"
    assert [m.startswith(expected) for m in messages] == ([True] if warned else [])
    if warned:
        assert messages[0].endswith(f"--workers {2 // threads} uses each core once")


def test_the_default_pool_has_a_worker_per_usable_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The default counts the cores this process may run on (its affinity), not the machine's."""
    monkeypatch.setattr(benchmark_config, "usable_cpus", lambda: 6)
    assert tiny_grid(tmp_path, workers=None).resolved_workers() == 6
    assert tiny_grid(tmp_path, workers=None, threads_per_worker=2).resolved_workers() == 3
