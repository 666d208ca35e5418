"""The real server in a subprocess: ``artifortress serve`` exactly as ``make serve`` runs it.

For end-to-end tests that talk HTTP over loopback (curl-style flows, real
package clients).  The server listens on a free 127.0.0.1 port, keeps its
data under a temporary ``ARTIFORTRESS_HOME`` and writes its output to files,
so a full pipe can never block it.  :meth:`ServerProcess.stop` ends it by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def artifortress_command() -> str:
    """The ``artifortress`` script of the running interpreter's environment."""
    return str(Path(sys.executable).with_name("artifortress"))


def clean_environ(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment without any Artifortress or Prometheus settings, plus *extra*."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ARTIFORTRESS_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    return {**inherited, **extra}


def child_pids(pid: int) -> list[int]:
    """The children of process *pid* (Linux ``/proc``)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def is_event_worker(pid: int) -> bool:
    """Whether *pid* is the outbox worker ``serve`` runs on the embedded default."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"artifortress.cli" in argv and b"worker" in argv


class PortTaken(RuntimeError):
    """The chosen port was taken before the server could bind it."""


class ServerProcess:
    """``artifortress serve`` with its own home, port and environment."""

    def __init__(
        self,
        home: Path,
        environ: Mapping[str, str] | None = None,
        *,
        expect_tracebacks: bool = False,
    ) -> None:
        """*expect_tracebacks*: the test provokes server errors on purpose (killed
        workers, broken services); otherwise leaving the ``with`` block fails when
        the server's output holds a Python traceback."""
        self.home = home
        self.expect_tracebacks = expect_tracebacks
        self.environ = clean_environ({"ARTIFORTRESS_HOME": str(home), **(environ or {})})
        self._pick_port()
        self.stdout_path = home.parent / f"{home.name}-stdout.log"
        self.stderr_path = home.parent / f"{home.name}-stderr.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _pick_port(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.environ["ARTIFORTRESS_BIND"] = f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start the server and wait until ``/healthz`` answers 200."""
        self.home.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            try:
                self._spawn()
                self._wait_healthy(timeout)
                return self
            except PortTaken:
                # Another process took the free port between our check and the bind.
                if attempt == 2:
                    raise
                self._pick_port()
        return self

    def _spawn(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [artifortress_command(), "serve"], env=self.environ, stdout=out, stderr=err
            )

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                if "is already in use" in self.stderr:
                    raise PortTaken(self.port)
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}:\n{self.output}"
                )
            if self._healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not become healthy in {timeout}s:\n{self.output}")

    def _healthy(self) -> bool:
        url = f"{self.base_url}/healthz"  # always http://127.0.0.1
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def serving_workers(self) -> list[int]:
        """The gunicorn workers (children of the master but the event worker)."""
        assert self.process is not None
        return [pid for pid in child_pids(self.process.pid) if not is_event_worker(pid)]

    def event_workers(self) -> list[int]:
        """The outbox worker(s) ``serve`` runs: one on the embedded default, else none."""
        assert self.process is not None
        return [pid for pid in child_pids(self.process.pid) if is_event_worker(pid)]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``artifortress ARGS`` against the same home and settings."""
        return run_cli(args, self.environ, check=check)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-5000:]}"

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM the server (gunicorn's graceful stop), then wait; SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None and not self.expect_tracebacks:
            self.assert_no_traceback()

    def assert_no_traceback(self) -> None:
        """Fail with the first traceback the server wrote: every 500 is a bug."""
        for text in (self.stderr, self.stdout):
            start = text.find("Traceback (most recent call last)")
            if start >= 0:
                excerpt = text[max(0, start - 300) : start + 3000]
                raise AssertionError(f"the server wrote a traceback:\n{excerpt}")


def run_cli(
    args: Sequence[str], environ: Mapping[str, str], *, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the ``artifortress`` command; with *check*, fail loudly showing its output."""
    done = subprocess.run(
        [artifortress_command(), *args],
        env=dict(environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(
            f"artifortress {' '.join(args)} exited with {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done
