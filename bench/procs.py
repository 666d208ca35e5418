"""Processes for the benchmark: run commands, start servers, stop them by PID, read /proc.

Every server the benchmark starts is a :class:`Daemon`: its output goes to a
log file (a full pipe could never block it), it is stopped by its own PID
(SIGTERM, then SIGKILL if it hangs), and nothing else is ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

MiB = 1024 * 1024

# Variables that would point pip, uv or npm at anything but the server under test.
_FOREIGN_INDEX = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def client_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for pip/uv/npm: no machine-wide indexes or config files, plus *extra*."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in _FOREIGN_INDEX and not key.startswith(("UV_", "npm_config_", "ARTIFORTRESS_"))
    }
    # pip reads /etc/pip.conf and friends unless told not to; they add local indexes.
    environ["PIP_CONFIG_FILE"] = os.devnull
    return {**environ, **(extra or {})}


def run(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    log: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise with its output if it fails."""
    done = subprocess.run(
        [str(arg) for arg in args],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}\n")
    if done.returncode != 0:
        # The command line holds tokens; name the program and its first arguments only.
        named = " ".join([Path(str(args[0])).name, *map(str, args[1:3])])
        raise RuntimeError(
            f"{named} ... exited with {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def timed(
    args: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    log: Path | None = None,
) -> float:
    """Seconds one successful run of a command took."""
    started = time.perf_counter()
    run(args, env=env, cwd=cwd, timeout=timeout, log=log)
    return time.perf_counter() - started


def wait_http(
    url: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until *url* answers anything below 500 (a 401 or 404 also means "up")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
                if answer.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


class Daemon:
    """A long-running server process with its output in *log*, stopped by its PID."""

    def __init__(
        self,
        name: str,
        args: Sequence[str | Path],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.args = [str(arg) for arg in args]
        self.log = log
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self, ready_url: str, timeout: float = 60) -> None:
        """Spawn the process and wait until *ready_url* answers."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_http(ready_url, timeout, self.process)
        except RuntimeError as error:
            self.stop()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name}: {error}\n{tail}") from error

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM our process (and only it), wait, SIGKILL it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def children(pid: int) -> list[int]:
    """The direct children of *pid* (gunicorn's workers, nginx's workers)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def peak_rss(pid: int) -> int:
    """The highest resident set size of *pid* so far, in bytes (``VmHWM``); 0 if it is gone."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
