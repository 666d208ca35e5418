"""nginx in front of a test server, from the shipped ``deploy/nginx.conf``.

The end-to-end test of the ``X-Accel-Redirect`` hand-off and the benchmark's
"behind nginx" column both run that file, with only its paths and ports
replaced, so what they measure is what operators deploy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from artifortress.testing.databases import service_missing
from artifortress.testing.server import free_port

#: What deploy/nginx.conf says, and what a run replaces it with (see runnable_config).
_RENDERINGS = "/var/lib/artifortress/renderings/"
_BLOBS = "/var/lib/artifortress/blobs/"
_UPSTREAM = "server 127.0.0.1:8080;"
_LISTEN = "listen 127.0.0.1:8000;"


def nginx_binary() -> str | None:
    """nginx's path, or ``None`` when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def runnable_config(
    template: str, *, home: Path, upstream_port: int, listen_port: int, work: Path
) -> str:
    """*template* (deploy/nginx.conf) for one run: its folders, ports, pid, logs and temp files."""
    for shipped, here in (
        (_RENDERINGS, f"{home / 'renderings'}/"),
        (_BLOBS, f"{home / 'blobs'}/"),
        (_UPSTREAM, f"server 127.0.0.1:{upstream_port};"),
        (_LISTEN, f"listen 127.0.0.1:{listen_port};"),
    ):
        if shipped not in template:
            raise ValueError(f"the nginx template no longer contains {shipped!r}")
        template = template.replace(shipped, here)
    for sub in ("logs", "tmp"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's files
    head = f"{user}pid {work / 'nginx.pid'};\nerror_log {work / 'logs' / 'error.log'} warn;\n"
    temp = "".join(
        f"    {kind}_temp_path {work / 'tmp' / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    extra = f"http {{\n    access_log off;\n    keepalive_requests 1000000;\n{temp}"
    return head + template.replace("http {\n", extra, 1)


class NginxProcess:
    """``nginx -g 'daemon off;'`` with a given configuration, stopped by its PID."""

    def __init__(self, config: str, work: Path, port: int) -> None:
        self.work = work
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.conf = work / "nginx.conf"
        self.conf.write_text(config)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, health_path: str = "/healthz", timeout: float = 20) -> NginxProcess:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (make test installs it with apt-get)")
        log = (self.work / "nginx.out").open("wb")
        self.process = subprocess.Popen(
            [binary, "-p", str(self.work), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.work / 'nginx.out').read_text()}")
            try:
                with urllib.request.urlopen(self.base_url + health_path, timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self  # nginx answers; the upstream's answer is the test's business
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


#: The proxy configuration Artifortress ships.
DEPLOY_NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


@contextlib.contextmanager
def shipped_front(home: Path, upstream_port: int, work: Path) -> Iterator[str]:
    """deploy/nginx.conf in front of the server on *upstream_port*: yields its base URL."""
    if nginx_binary() is None:
        service_missing("nginx (make test installs it)")
    port = free_port()
    config = runnable_config(
        DEPLOY_NGINX.read_text(),
        home=home,
        upstream_port=upstream_port,
        listen_port=port,
        work=work,
    )
    nginx = NginxProcess(config, work, port).start()
    try:
        yield nginx.base_url
    finally:
        nginx.stop()
