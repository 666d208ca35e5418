"""gunicorn's master, extended: one clear refusal of a busy port, and the embedded event worker.

On the embedded default (SQLite and a local folder) ``artifortress serve`` is
the whole product, so its master also runs the outbox worker (search index,
webhooks, plugins' event handlers) as one ``artifortress worker`` child:
started once the port is bound, restarted with backoff when it dies, stopped
with the server.  Production on PostgreSQL runs separate worker processes.

The master forks every serving worker, so this module imports nothing heavy:
the event worker is a fresh interpreter, not a fork.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from gunicorn import sock
from gunicorn.arbiter import Arbiter

from artifortress.settings import PREFIX, Settings

#: How fast the embedded worker looks for new events (the API's writes are on the
#: same machine, and a user expects ``npm search`` to find what they just published).
EMBEDDED_POLL_INTERVAL = "0.2s"
#: A worker that ran this long before dying was healthy: its next restart is immediate.
HEALTHY_AFTER = 30.0
#: Longest wait between two restarts of a worker that keeps dying.
MAX_RESTART_DELAY = 60.0
#: What the refusal of a busy address says (ServerProcess recognises it).
ADDRESS_IN_USE = "is already in use"


class AddressInUse(SystemExit):
    """The listen address cannot be bound (taken, mostly): one line on stderr, exit status 1."""


def runs_embedded_worker(settings: Settings) -> bool:
    """Whether ``serve`` runs the outbox worker itself (SQLite default, not switched off)."""
    return settings.is_embedded and settings.embedded_worker


def bind_once(cfg: Any, log: Any) -> list[Any]:
    """gunicorn's listeners, bound in one attempt.

    gunicorn retries a busy address five times, logging three lines per try;
    a port held by another program is not going to free itself in five
    seconds, so the operator gets one line naming the setting instead.
    """
    listeners = []
    for address in cfg.address:
        try:
            listeners.append(sock._sock_type(address)(address, cfg, log))
        except OSError as exc:
            sock.close_sockets(listeners, unlink=False)
            shown = ":".join(map(str, address)) if isinstance(address, tuple) else address
            if exc.errno == errno.EADDRINUSE:
                reason = (
                    f"the address {ADDRESS_IN_USE} (another Artifortress, or another program, "
                    "listens there); stop it or"
                )
            else:  # not ours to take (a port below 1024), or no such local address
                reason = f"{exc.strerror};"
            raise AddressInUse(
                f"error: cannot listen on {shown}: {reason} choose another address with "
                f"{PREFIX}BIND=HOST:PORT"
            ) from None
    return listeners


class EventWorker:
    """One ``artifortress worker`` child of the master, kept running with backoff."""

    def __init__(self, settings: Settings, log: Any) -> None:
        self.settings = settings
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.failures = 0
        self.next_start = 0.0

    def keep_running(self) -> None:
        """Start the worker if it is not running and its restart delay is over."""
        self.reap()
        if self.process is None and time.monotonic() >= self.next_start:
            self._start()

    def reap(self) -> None:
        """Collect the worker's exit, if it exited, and schedule its restart."""
        if self.process is None:
            return
        pid, status = self.process.pid, self._collect()
        if status is not None:
            self._schedule_restart(pid, status)

    def _collect(self) -> int | None:
        """The wait status of an exited worker (-1: gunicorn collected it first), else None."""
        assert self.process is not None
        try:
            pid, status = os.waitpid(self.process.pid, os.WNOHANG)
        except ChildProcessError:  # gunicorn's waitpid(-1) took it: how it ended is unknown
            pid, status = self.process.pid, -1
        if pid == 0:
            return None
        self.process.returncode = 0  # collected: Popen must not wait for it again
        self.process = None
        return status

    def _schedule_restart(self, pid: int, status: int) -> None:
        ran = time.monotonic() - self.started_at
        self.failures = 0 if ran >= HEALTHY_AFTER else self.failures + 1
        delay = 0.0 if self.failures <= 1 else min(2.0 ** (self.failures - 1), MAX_RESTART_DELAY)
        self.next_start = time.monotonic() + delay
        (self.log.info if status == 0 else self.log.error)(
            "event worker (pid:%s) %s after %.1fs; restarting it in %.0fs",
            pid,
            _describe_exit(status),
            ran,
            delay,
        )

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "artifortress.cli", "worker"],
            env=_worker_environ(self.settings),
            # preexec_fn is safe here: the master runs one thread.
            preexec_fn=_die_with_parent(os.getpid()),
        )
        self.started_at = time.monotonic()
        self.log.info("event worker (pid:%s) started", self.process.pid)

    def stop(self, timeout: float) -> None:
        """SIGTERM the worker (it finishes its current event), SIGKILL after *timeout*."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._collect() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _describe_exit(status: int) -> str:
    if status < 0:
        return "exited"
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _worker_environ(settings: Settings) -> dict[str, str]:
    """The master's environment for the worker, which polls fast and writes no metric files."""
    environ = dict(os.environ)
    # Its samples would never be marked dead (that happens for serving workers only).
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    field = next(f for f in dataclasses.fields(Settings) if f.name == "worker_poll_interval")
    if settings.worker_poll_interval == field.default:  # neither environment nor file chose one
        environ[PREFIX + "WORKER_POLL_INTERVAL"] = EMBEDDED_POLL_INTERVAL
    return environ


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Run in the child before exec: SIGTERM it when the master dies, even by SIGKILL."""

    def arrange() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the master died before the line above
            os._exit(0)

    return arrange


class ArtifortressArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master with a one-attempt bind and, when embedded, the event worker."""

    LISTENERS: list[Any]  # gunicorn's, untyped

    def __init__(self, app: Any, settings: Settings, on_ready: Callable[[], None]) -> None:
        super().__init__(app)
        self.on_ready = on_ready
        self.event_worker = (
            EventWorker(settings, self.log) if runs_embedded_worker(settings) else None
        )

    def start(self) -> None:
        inherited = "GUNICORN_FD" in os.environ or os.environ.get("LISTEN_FDS")
        if not self.LISTENERS and not inherited and not self.cfg.reuse_port:
            self.LISTENERS = bind_once(self.cfg, self.log)
        super().start()
        self.on_ready()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.event_worker is not None:
            self.event_worker.keep_running()

    def handle_chld(self) -> None:
        # Collect the event worker first: gunicorn's waitpid(-1) would take its status.
        if self.event_worker is not None:
            self.event_worker.reap()
        super().handle_chld()

    # gunicorn dispatches SIGCHLD by its alias's name; the alias must point at the override.
    handle_cld = handle_chld

    def stop(self, graceful: bool = True) -> None:
        if self.event_worker is None:
            super().stop(graceful)
            return
        if self.event_worker.process is not None:
            self.event_worker.process.send_signal(signal.SIGTERM)
        super().stop(graceful)
        self.event_worker.stop(self.cfg.graceful_timeout if graceful else 2.0)
