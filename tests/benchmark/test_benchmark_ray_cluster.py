"""The README's Ray recipe, run as written against a head node started with ``ray start --head``
on this machine (loopback, free ports, no dashboard), with Ray's token authentication on and
off: the driver joins by explicit address and by ``auto``; a driver on "another node" (another
home folder) joins with ``RAY_AUTH_TOKEN``; one without the token gets one clear error, at once.

The head node runs with ``--block`` and is stopped by ending that process, which stops exactly
the Ray processes it started (``ray stop`` would stop every Ray on the machine).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmark_helpers import CARTPOLE, TINY_TRAIN
from process_helpers import kill_all

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("ray"),  # one Ray at a time
    # not importorskip: collecting this file (as every test run does) should not import Ray
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed"),
]
BIN = Path(sys.executable).parent
RAY_WORKER_PORTS = range(10000, 20000)
"""Ports a Ray node keeps for its workers (and the client server's 10001): never chosen here."""
RAY_VARIABLES = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def free_port() -> int:
    """A TCP port free on loopback now, outside Ray's worker ports."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in RAY_WORKER_PORTS and port + 1 not in RAY_WORKER_PORTS:
            return port


@dataclass
class Head:
    """A running head node: its address, the environment of its machine, its token."""

    address: str
    env: dict[str, str]
    token: str | None
    temp: Path


def _clean_env(home: Path, temp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RAY_VARIABLES}
    return {**env, "HOME": str(home), "RAY_TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}


def _wait_for_start(process: subprocess.Popen[str]) -> list[str]:
    """The head's output lines, once it says it started (or ended)."""
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ray runtime started" in line:
                started.set()
        started.set()

    threading.Thread(target=read, daemon=True).start()
    assert started.wait(600), "ray start --head did not start"
    assert process.poll() is None, "".join(lines[-30:])
    return lines


def _ours(temp: Path) -> list[int]:
    """Processes whose command line names this head's temporary folder (its own processes)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if str(temp) in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module", params=[True, False], ids=["auth-on", "auth-off"])
def head(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    """``ray start --head`` on loopback; with auth on, a token in the home folder turns token
    authentication on, as it does for any user who ran a local ``ray.init()`` before."""
    auth = bool(request.param)
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay short
    home = tmp_path_factory.mktemp("head-home")
    env = _clean_env(home, temp)
    token = None
    if auth:
        subprocess.run(
            [str(BIN / "ray"), "get-auth-token", "--generate"], env=env, check=True, capture_output=True
        )
        token = (home / ".ray" / "auth_token").read_text().strip()
    else:
        env["RAY_AUTH_MODE"] = "disabled"
    port = free_port()
    argv = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--port",
        str(port),
        "--node-ip-address",
        "127.0.0.1",
    ]
    argv += ["--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"]
    argv += ["--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port())]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = _wait_for_start(process)
        assert auth == any("Token authentication is enabled" in line for line in lines), "".join(lines)
        yield Head(f"127.0.0.1:{port}", env, token, temp)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
        time.sleep(1)
        kill_all(_ours(temp))
        shutil.rmtree(temp, ignore_errors=True)


def grid_file(folder: Path) -> Path:
    """A one-trial grid (CartPole dr, 500 steps) as the README's ``--config FILE``."""
    path = folder / "grid.yaml"
    path.write_text(
        json.dumps({"envs": [CARTPOLE], "methods": ["dr"], "timesteps": 500, "train": TINY_TRAIN})
    )
    return path


def benchmark(
    head: Head, tmp_path: Path, address: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``mtml-rl benchmark --config FILE --backend ray --address ADDRESS``, as the README has it."""
    argv = [str(BIN / "mtml-rl"), "benchmark", "--config", str(grid_file(tmp_path)), "--backend", "ray"]
    argv += ["--address", address, "--out", str(tmp_path / "out"), "--no-eval", "--quiet"]
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
    )


def finished(done: subprocess.CompletedProcess[str], out: Path) -> bool:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 trial(s): 1 finished (1 run now, 0 already done), 0 failed" in done.stdout
    return json.loads((out / "runs" / "CartPole-dr-s0" / "run.json").read_text())["status"] == "finished"


def test_on_the_head_node_by_explicit_address(head: Head, tmp_path: Path) -> None:
    assert finished(benchmark(head, tmp_path, head.address, head.env), tmp_path / "out")


def test_on_the_head_node_by_auto(head: Head, tmp_path: Path) -> None:
    assert finished(benchmark(head, tmp_path, "auto", head.env), tmp_path / "out")


def test_from_another_node_with_the_token_in_the_environment(head: Head, tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "elsewhere", head.temp)  # another home: no token file there
    (tmp_path / "elsewhere").mkdir()
    if head.token is not None:
        env["RAY_AUTH_TOKEN"] = head.token
    assert finished(benchmark(head, tmp_path, head.address, env), tmp_path / "out")


def test_without_the_token_one_clear_error_and_nothing_left(head: Head, tmp_path: Path) -> None:
    if head.token is None:
        pytest.skip("the cluster has no authentication")
    env = _clean_env(tmp_path / "elsewhere", head.temp)
    (tmp_path / "elsewhere").mkdir()
    done = benchmark(head, tmp_path, head.address, env)
    assert done.returncode == 2, done.stderr[-3000:]
    error = [line for line in done.stderr.splitlines() if line.startswith("mtml-rl benchmark: error:")]
    assert len(error) == 1 and "RAY_AUTH_TOKEN" in error[0] and "ray get-auth-token" in error[0]
    # found out before ray.init, which would retry for about 20 s
    assert "uses token authentication and this driver has no token" in error[0], error[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
