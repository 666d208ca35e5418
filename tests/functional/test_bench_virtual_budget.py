"""``python -m bench.virtual_budget`` (docs/read-path.md) runs and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_virtual_read_budget_prints_every_request():
    done = subprocess.run(
        [sys.executable, "-m", "bench.virtual_budget"],
        cwd=ROOT,
        env={**os.environ, "BENCH_BUDGET_CALLS": "5"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "µs" in line]
    assert len(rows) == 8, done.stdout
    # Every warm request through the virtual: the claim and one row, outside any session.
    assert all(row.endswith("| 2 |") for row in rows), done.stdout
