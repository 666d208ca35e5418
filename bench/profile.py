"""py-spy profiles of Artifortress's workers while wrk loads one URL (``BENCH_PROFILE=1``).

The profile is taken in a separate wrk run after the measured one, because
sampling slows the workers down.  Only samples holding the GIL count (``--gil``):
with 8 threads per worker on 2 cores, Python CPU time is what bounds a page.
The summary groups self time by package and by function, and lists
Artifortress's own frames by the share of samples they are on the stack of.
"""

from __future__ import annotations

import collections
import hashlib
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
    out = bench.scratch("profiles") / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.txt"
    spy = subprocess.Popen(
        [
            py_spy(bench),
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--rate",
            "250",
            "--gil",
            "--full-filenames",
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
    """Self time by function and by package, and Artifortress's own frames by total time."""
    own: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        count = int(count_text)
        samples += count
        own[_short(frames[-1])] += count
        packages[_package(frames[-1])] += count
        for frame in {_short(f) for f in frames if _package(f).startswith("artifortress")}:
            ours[frame] += count
    if not samples:
        return "no samples holding the GIL"
    lines = [
        f"{samples} samples holding the GIL, all workers.",
        "",
        "| self % | package |",
        "|---:|---|",
    ]
    lines += [f"| {100 * n / samples:.1f} | {name} |" for name, n in packages.most_common(8)]
    lines += ["", "| self % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in own.most_common(TOP)]
    lines += ["", "| total % | Artifortress function (on the stack) |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in ours.most_common(TOP)]
    return "\n".join(lines)


def _path(frame: str) -> str:
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def _short(frame: str) -> str:
    """``function (path/to/module.py:123)`` -> ``function (to/module.py)``."""
    parts = _path(frame).split("/")
    return f"{frame.partition(' (')[0]} ({'/'.join(parts[-2:])})"


def _package(frame: str) -> str:
    """The distribution or stdlib module a frame's file belongs to (artifortress by plane)."""
    path = _path(frame)
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for marker in ("/artifortress/", "/artifortress_"):
        if marker in path:
            rest = path.rsplit(marker, 1)[1].split("/")
            head = marker.strip("/") + (rest[0] if marker.endswith("_") else "")
            sub = rest[1 if marker.endswith("_") else 0].removesuffix(".py")
            return f"{head}.{sub}" if head == "artifortress" else head
    if "/python3" in path:
        tail = path.split("/python3", 1)[1].split("/")
        return "stdlib " + (tail[1].removesuffix(".py") if len(tail) > 1 else "?")
    return path or "?"
