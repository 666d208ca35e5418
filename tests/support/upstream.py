"""A real upstream for remote-repository tests: an HTTP server on 127.0.0.1 in a thread.

Each path answers as its :class:`Route` says (status, body, ETag, delays, a
body cut short); the server counts requests per path and keeps the
``Authorization`` headers it received.  No internet is involved.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclasses.dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    #: Answered 304 when the client sends it back in If-None-Match.
    etag: str | None = None
    #: Statuses answered (empty body) before the route answers as above, one per request.
    failures: list[int] = dataclasses.field(default_factory=list)
    #: Seconds of silence before the status line (a stalled upstream).
    delay: float = 0.0
    #: Send this many bytes of the body, then close the connection.
    cut_after: int | None = None
    #: Seconds of silence in the middle of the body.
    stall_mid_body: float = 0.0
    #: More response headers (a redirect's Location, a Content-Encoding...).
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Send the body a byte at a time, this many seconds apart (an upstream dripping bytes).
    drip: float = 0.0
    #: Announce no Content-Length: the body ends when the connection closes.
    unannounced: bool = False


class Upstream:
    """The server's routes, what it saw, and its base URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def serve(self, path: str, body: bytes = b"", **options: object) -> Route:
        route = self.routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return route

    def seen(self, path: str, authorization: str | None) -> None:
        with self._lock:
            self.hits[path] += 1
            self.authorizations.append(authorization)

    @contextmanager
    def running(self) -> Iterator[Upstream]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close the port (connections are refused from now on); idempotent."""
        if self.stopped:
            return
        self.stopped = True
        self._server.shutdown()
        self._server.server_close()


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if upstream.stopped:  # a kept-alive connection outlives the listening socket
                self.close_connection = True
                return
            upstream.seen(self.path, self.headers.get("Authorization"))
            route = upstream.routes.get(self.path)
            if route is None:
                self._answer(404, b"no such path")
                return
            time.sleep(route.delay)
            if route.failures:
                self._answer(route.failures.pop(0), b"")
            elif route.etag is not None and self.headers.get("If-None-Match") == route.etag:
                self._answer(304, b"", {"ETag": route.etag})
            else:
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag is not None:
                    headers["ETag"] = route.etag
                self._answer(route.status, route.body, headers, route)

        def _answer(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str] | None = None,
            route: Route | None = None,
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if route is not None and route.unannounced:
                self.send_header("Connection", "close")
                self.close_connection = True
            elif status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if route is not None and route.drip:
                with contextlib.suppress(OSError):  # the client gave up
                    for offset in range(len(body)):
                        self.wfile.write(body[offset : offset + 1])
                        self.wfile.flush()
                        time.sleep(route.drip)
                return
            if route is None or (route.cut_after is None and not route.stall_mid_body):
                self.wfile.write(body)
                return
            half = route.cut_after if route.cut_after is not None else len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            if route.cut_after is not None:
                self.close_connection = True
                return
            time.sleep(route.stall_mid_body)
            self.wfile.write(body[half:])

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet tests

    return Handler
