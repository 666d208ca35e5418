"""Load generation with wrk: requests/s and the p50/p99 latency of one URL."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Mapping

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = re.compile(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Load:
    """What wrk measured: throughput, latency percentiles (ms) and failures."""

    rps: float
    p50: float
    p99: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors (timeouts included)


def parse(output: str) -> Load:
    """Read wrk's ``--latency`` report."""
    percentiles = {int(p): float(v) * _UNITS[unit] for p, v, unit in _DURATION.findall(output)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if rps is None or requests is None or 50 not in percentiles or 99 not in percentiles:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(found.group(1))
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(count) for count in found.groups())
    return Load(
        float(rps.group(1)), percentiles[50], percentiles[99], int(requests.group(1)), errors
    )


def wrk(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    connections: int = 16,
    threads: int = 2,
    seconds: float = 10,
) -> Load:
    """Run wrk against *url* for a bounded time (it stops by itself)."""
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr}")
    return parse(done.stdout)
