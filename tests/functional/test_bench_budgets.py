"""The in-process budgets of docs/read-path.md run and print their tables.

``bench.budget`` (a cached read, step by step; named in the README),
``bench.virtual_budget`` (warm reads through a virtual) and
``bench.cold_budget`` (cold reads through a virtual), each at a small size.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def budget_rows(module: str, **environ: str) -> list[str]:
    """The table rows ``python -m <module>`` prints (those with a figure in µs)."""
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if line.startswith("| ") and "µs" in line]


def test_the_read_budget_prints_every_step():
    rows = budget_rows("bench.budget", BENCH_BUDGET_CALLS="5")
    assert len(rows) == 8, rows
    assert any("cached simple page" in row for row in rows)


def test_the_virtual_read_budget_prints_every_request():
    rows = budget_rows("bench.virtual_budget", BENCH_BUDGET_CALLS="5")
    assert len(rows) == 8, rows
    # Every warm request through the virtual: the claim and one row, outside any session.
    assert all(row.endswith("| 2 |") for row in rows), rows


def test_the_cold_read_budget_prints_every_request():
    rows = budget_rows("bench.cold_budget", BENCH_COLD_PROJECTS="2")
    assert len(rows) == 5, rows
