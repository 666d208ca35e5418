"""A TCP forwarding proxy on 127.0.0.1 that a test can cut and restore.

Put it between the application and a backing service (PostgreSQL, Redis, S3)
to simulate an outage: :meth:`TcpProxy.cut` closes the listening socket and
every forwarded connection, so new connections are refused and existing ones
see their peer vanish; :meth:`TcpProxy.stall` turns it into a black hole that
accepts connections and never answers (a host that drops packets);
:meth:`TcpProxy.restore` forwards on the same port again.  Everything runs in
daemon threads of the test process.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

_CHUNK = 65536


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port`` until cut.

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    The listening port stays the same across :meth:`cut` and
    :meth:`restore`, so clients can keep their configured address.
    """

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stalling = False

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, for building URLs."""
        return f"127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time) and start forwarding."""
        if self._stalling:
            self.cut()
        return self._listen(stalling=False)

    restore = start

    def stall(self) -> None:
        """Drop every connection, then accept new ones but never answer: a black hole.

        Clients see their connection attempts hang, which is what an unreachable
        host or a full backlog looks like; only their own timeouts end the wait.
        """
        self.cut()
        self._listen(stalling=True)

    def _listen(self, *, stalling: bool) -> TcpProxy:
        with self._lock:
            if self._listener is not None:
                return self
            self._stalling = stalling
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # The same port is reused after cut(); without this, TIME_WAIT refuses the bind.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        self._spawn(self._accept_loop, listener)
        return self

    def cut(self) -> None:
        """Stop listening and drop every forwarded connection (both directions)."""
        with self._lock:
            self._stalling = False
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        """Cut and wait briefly for the forwarding threads to end."""
        self.cut()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed by cut()
                return
            if self._stalling:  # hold the connection open and silent until cut()
                if not self._track(listener, client):
                    return
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            if not self._track(listener, client, upstream):
                return
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _track(self, listener: socket.socket, *socks: socket.socket) -> bool:
        """Register live sockets, unless a cut() happened meanwhile (then drop them)."""
        with self._lock:
            if self._listener is listener:
                self._sockets.update(socks)
                return True
        for sock in socks:
            _close(sock)
        return False

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    # shutdown() wakes a thread blocked in recv()/accept(); close() alone may not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
