"""``python -m bench.cold_budget`` (docs/read-path.md) runs and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_cold_read_budget_prints_every_request():
    done = subprocess.run(
        [sys.executable, "-m", "bench.cold_budget"],
        cwd=ROOT,
        env={**os.environ, "BENCH_COLD_PROJECTS": "2"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "µs" in line]
    assert len(rows) == 5, done.stdout
