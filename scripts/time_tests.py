"""Wall and CPU time of a ``make`` test target, with the machine's load, in one line.

On a busy machine the wall time says little: the CPU time of the target's processes
(user + system, all of them: pytest's workers and what they start) divided by the number of
cores is what the target would take on idle cores with perfect balance, a lower bound of its
wall time there. Both are printed, with the 1-minute load average before and after. Usage::

    python scripts/time_tests.py                 # make test-fast
    python scripts/time_tests.py --target test   # everything CI runs
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from mtml_rl.cli.arguments import parse_arguments
from mtml_rl.lifetime import script_exit_status


def measure(target: str, workers: str | None) -> tuple[int, float, float, float, float]:
    """Run ``make <target>``; returns its exit code, wall seconds, CPU seconds of all its
    processes, and the 1-minute load average before and after."""
    command = ["make", "--no-print-directory", target]
    if workers is not None:
        command.append(f"PYTEST_WORKERS={workers}")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    code = subprocess.call(command)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return code, wall, usage.ru_utime + usage.ru_stime, load_before, os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    """Time the target and print one summary line; returns the target's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="test-fast", help="the make target (default test-fast)")
    parser.add_argument("--workers", default=None, help="PYTEST_WORKERS (default: the Makefile's)")
    args = parse_arguments(parser, argv)
    cores = os.cpu_count() or 1
    code, wall, cpu, before, after = measure(args.target, args.workers)
    print(
        f"make {args.target}: exit {code}, wall {wall:.0f} s, CPU {cpu:.0f} s "
        f"(user + system of every process), CPU / {cores} cores = {cpu / cores:.0f} s; "
        f"load average {before:.1f} before, {after:.1f} after",
        file=sys.stderr,
    )
    return code


if __name__ == "__main__":
    sys.exit(script_exit_status("time_tests.py", main))
