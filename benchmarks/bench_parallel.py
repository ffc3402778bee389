"""Benchmark: many clusters in one run, serial versus parallel.

20 mapping files, each a "cluster" behind a proxy that adds 200 ms to every request (as a distant
region would), are planned by `osaccess plan DIR` with --parallel 1 and --parallel 20. Prints the
wall times and the speed-up. Run with `make bench`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.integration.proxy import Delay, FaultProxy

ROOT = Path(__file__).resolve().parents[1]
FILES = 20
LATENCY = 0.2


def env() -> dict[str, str]:
    values = dict(os.environ)
    for line in (ROOT / ".sandbox" / "env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[7:].partition("=")
            values[name] = value.strip("'")
    return values


def timed(args: list[str], environment: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "osaccess", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 2):
        raise SystemExit(f"osaccess failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    environment = env()
    with (
        FaultProxy(
            environment["OSACCESS_SANDBOX_URL"],
            environment["OSACCESS_CA_CERTS"],
            lambda method, path: Delay(LATENCY),
        ) as proxy,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for index in range(FILES):
            Path(tmp, f"cluster-{index:02d}.yaml").write_text(
                f"cluster:\n  endpoint: {proxy.url}\n  auth: basic\n"
                f"  username: {environment['OSACCESS_USERNAME']}\n"
                f"roles:\n  readall:\n    ownership: shared\n"
                f"    users: [reader-{index}]\n"
            )
        print(
            f"osaccess plan of {FILES} files, each cluster {LATENCY * 1000:.0f} ms away "
            f"(7 requests per file), {os.cpu_count()} CPUs"
        )
        serial = statistics.median(
            timed(["plan", tmp, "--parallel", "1"], environment) for _ in range(3)
        )
        parallel = statistics.median(
            timed(["plan", tmp, "--parallel", str(FILES)], environment) for _ in range(3)
        )
        print(f"  --parallel 1   {serial:6.2f} s  (median of 3)")
        print(f"  --parallel {FILES}  {parallel:6.2f} s  (median of 3)")
        print(f"  speed-up       {serial / parallel:6.1f}x")


if __name__ == "__main__":
    main()
