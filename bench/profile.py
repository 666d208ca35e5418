"""py-spy profiles of Artifortress's workers while wrk loads one URL (``BENCH_PROFILE=1``).

The profile is taken in a separate wrk run after the measured one, because
sampling slows the workers down.  The summary lists the functions with the
most samples on their own frame (self time) and on the stack (total time).
"""

from __future__ import annotations

import collections
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.context import Bench

TOP = 12


def py_spy(bench: Bench) -> str:
    return str(bench.work / "peers-venv" / "bin" / "py-spy")


def profile_under_load(bench: Bench, url: str, headers: Mapping[str, str], connections: int) -> str:
    """Record the subject's workers for a few seconds under wrk; a summary as Markdown."""
    server = bench.subject.server
    assert server is not None
    assert server.process is not None
    seconds = max(3, int(bench.seconds))
    out = bench.scratch("profiles") / f"{abs(hash(url))}.txt"
    spy = subprocess.Popen(
        [
            py_spy(bench),
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--rate",
            "250",
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    subprocess.run([*args, url], capture_output=True, timeout=seconds + 60, check=False)
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-500:]}"
    return summarize(out.read_text())


def summarize(raw: str) -> str:
    """Top functions by self and by total samples from py-spy's collapsed-stack output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        frames = [frame for frame in frames if not frame.startswith("thread ")]
        if not frames or _idle(frames[-1]):
            continue
        samples += count
        own[_short(frames[-1])] += count
        for frame in set(map(_short, frames)):
            total[frame] += count
    if not samples:
        return "no busy samples"
    # Frames on (nearly) every stack are the server's loop, not where the time goes.
    inclusive = [(f, n) for f, n in total.most_common() if n < 0.9 * samples][:TOP]
    lines = [f"{samples} busy samples (all workers).", "", "| self % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{f}` |" for f, n in own.most_common(TOP)]
    lines += ["", "| total % | function (on the stack) |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{f}` |" for f, n in inclusive]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``function (path/to/module.py:123)`` -> ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    tail = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({tail})"


def _idle(frame: str) -> bool:
    """Frames where a thread waits rather than works (py-spy --idle is off, but be safe)."""
    return any(word in frame for word in ("wait (threading", "select (", "accept (", "poll ("))
