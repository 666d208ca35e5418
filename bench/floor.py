"""The framework floor: gunicorn and Falcon, configured as ``artifortress serve``, sending bytes.

Not a competitor and not Artifortress: a Falcon app with one route that answers
with bytes it holds in memory, under gunicorn's gthread worker with the same
workers, threads and keep-alive as ``make serve``.  What it reaches is the most
any Falcon-on-gunicorn server can do for that page on this machine, so the page
rows can tell how much of Artifortress's time is its own per-request work
(authorization, the change counter, the cache) and how much is the server's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from artifortress.server import WORKER_CLASS
from bench.peers import Server
from bench.procs import Daemon

#: The app gunicorn loads (``floor_app:app``), written into the run's folder.
APP = """
import os
from pathlib import Path

import falcon

ROOT = Path(os.environ["BENCH_FLOOR_ROOT"])
TYPES = {".html": "text/html", ".json": "application/json"}
_held = {}


class Page:
    def on_get(self, req, resp, name):
        body = _held.get(name)
        if body is None:
            body = _held[name] = (ROOT / name).read_bytes()
        resp.content_type = TYPES.get(Path(name).suffix, "application/octet-stream")
        resp.data = body


app = falcon.App()
app.add_route("/{name}", Page())
"""


class FalconFloor(Server):
    """gunicorn as make serve runs it (Artifortress's worker class, 2 x 8 threads, keep-alive 5)
    serving saved pages from memory."""

    name = "Falcon floor"

    def start(self) -> None:
        self.root = self.work / "pages"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.work / "floor_app.py").write_text(APP)
        gunicorn = Path(sys.executable).parent / "gunicorn"
        args = [gunicorn, "-k", WORKER_CLASS, "-w", "2", "--threads", "8", "--keep-alive", "5"]
        args += ["-b", f"127.0.0.1:{self.port}", "--chdir", self.work, "floor_app:app"]
        self.daemon = Daemon(
            self.name,
            args,
            self.work / "server.log",
            env={"BENCH_FLOOR_ROOT": str(self.root), "PATH": "/usr/bin:/bin"},
        )
        (self.root / "ready.html").write_bytes(b"ready")
        self.daemon.start(f"{self.base}/ready.html")

    def serve(self, name: str, data: bytes) -> str:
        """Hold *data* at /name (saved before the first request asks for it)."""
        (self.root / name).write_bytes(data)
        return f"{self.base}/{name}"

    def rss_pids(self) -> list[int]:
        return []
