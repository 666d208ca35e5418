"""gunicorn's threaded worker with every wait on a slow client moved off the threads.

gunicorn's ``gthread`` worker hands a connection to one of its few threads as
soon as the first byte arrives; a client that then sends its request line,
headers or body slowly (or stops) keeps that thread until it goes away, so a
few dozen such connections, no token needed, starve everyone else.  Here the
worker's event loop, which already waits for kept-alive connections, also:

- reads each request's headers, and a body of up to :data:`MAX_BUFFERED_BODY`,
  into memory before any thread sees it, within ``client_header_timeout``
  (then ``408`` and close), a header block larger than :data:`MAX_HEADER`
  being ``431``;
- lets at most ``threads - reserve`` requests per worker stream a larger body
  through a thread at once (the rest wait in the loop, unread, with TCP's flow
  control holding the client), so stalled uploads can never take the threads
  that reads and health checks need; a streamed body that sends nothing for
  ``client_body_timeout`` ends with an error (the socket's kernel deadline);
- sends what remains of a file download once the client reads slower than the
  thread can write (``sendfile`` from the loop, no thread held), and drops a
  client that reads nothing for ``client_send_timeout``; other responses
  (pages, streamed S3 bodies) are written by the thread under the same kernel
  deadline.

TLS and HTTP/2 with prior knowledge, which gunicorn reads from the raw socket
itself, keep gunicorn's own behaviour (terminate TLS at the front proxy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import selectors
import socket
import struct
import time
from collections import deque
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from artifortress.serving.framing import Readiness, RequestFraming
from artifortress.settings import Settings

log = logging.getLogger("artifortress.serving")

#: Largest request header block (request line and fields) the loop buffers.
MAX_HEADER = 64 * 1024
#: Bodies up to this size are read by the loop; larger ones stream through a thread.
MAX_BUFFERED_BODY = 64 * 1024
#: One recv() of the loop.
_READ_SIZE = 64 * 1024
#: How long, and for how many bytes, a closing connection drains what the client still sends.
_LINGER = 2.0
_LINGER_BYTES = 64 * 1024
#: Largest sendfile() of the loop at once, so one fast download does not hold it long.
_SEND_SIZE = 4 * 1024 * 1024

_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 36\r\n\r\n"
    b"The request header block is too big\n"
)
_NOT_TLS = (
    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 42\r\n\r\n"
    b"This server speaks plain HTTP, not HTTPS.\n"
)
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 42\r\n\r\n"
    b"The request did not arrive in time; retry\n"
)


@dataclasses.dataclass(frozen=True)
class ClientDeadlines:
    """How long a client may take; see the ``client_*_timeout`` settings."""

    header: float = 30.0
    body: float = 60.0
    send: float = 60.0

    @classmethod
    def of(cls, settings: Settings) -> ClientDeadlines:
        return cls(
            header=settings.client_header_timeout,
            body=settings.client_body_timeout,
            send=settings.client_send_timeout,
        )


@dataclasses.dataclass
class FileRest:
    """The part of a file response the client has not taken yet."""

    fd: int
    offset: int
    count: int

    def close(self) -> None:
        os.close(self.fd)


class DeferringSocket(socket.socket):
    """A client socket whose ``sendfile`` stops when the peer stops keeping up.

    gunicorn sends a file response with ``socket.sendfile``, which blocks
    until the last byte is out.  Here it sends what the socket takes at once
    and keeps the rest (:attr:`rest`, on a duplicate of the file descriptor, as
    the response closes its file) for the worker's event loop.
    """

    rest: FileRest | None = None
    #: Whether the current response has a Content-Length: a chunked one ends with
    #: framing gunicorn writes right after ``sendfile`` returns, so it is sent whole.
    may_defer = False

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        fd = file.fileno()
        if count is None:
            count = os.fstat(fd).st_size - offset
        if not self.may_defer:
            return self._send_whole(fd, offset, count)
        sent = self._send_now(fd, offset, count)
        if sent < count:
            self.rest = FileRest(os.dup(fd), offset + sent, count - sent)
        return sent

    def _send_now(self, fd: int, offset: int, count: int) -> int:
        sent = 0
        self.setblocking(False)
        try:
            while sent < count:
                try:
                    step = _sendfile_step(self, fd, offset + sent, count - sent)
                except (BlockingIOError, InterruptedError):
                    break
                sent += step
        finally:
            self.setblocking(True)
        return sent

    # A thread's blocking reads and writes end with EAGAIN when the kernel deadline
    # passes (SO_RCVTIMEO / SO_SNDTIMEO). gunicorn logs any OSError but a reset with
    # a traceback, for what is only a client that stopped: those become a reset, with
    # one line in the log that says what happened.

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except BlockingIOError:
            raise self._deadline_passed("sent nothing of its request body") from None

    def sendall(self, data: Any, flags: int = 0) -> None:
        try:
            super().sendall(data, flags)
        except BlockingIOError:
            raise self._deadline_passed("read nothing of the response") from None

    def _deadline_passed(self, what: str) -> OSError:
        """The error for a blocking call cut by the deadline; non-blocking calls keep theirs."""
        if self.gettimeout() == 0.0:  # the event loop's own call: nothing happened
            return BlockingIOError(errno.EAGAIN, "would block")
        peer = _peer_of(self)
        log.info("closing the connection of %s: it %s within the client deadline", peer, what)
        return ConnectionResetError(errno.ECONNRESET, f"the client {what} in time")

    def _send_whole(self, fd: int, offset: int, count: int) -> int:
        """All of it, from the thread: the socket's send deadline bounds each wait.

        ``socket.sendfile`` waits out an expired deadline (``SO_SNDTIMEO``) in a
        ``select()`` without one, which held the thread for as long as the
        client read nothing.
        """
        sent = 0
        while sent < count:
            sent += _sendfile_step(self, fd, offset + sent, count - sent)
        return sent


def _peer_of(sock: socket.socket) -> str:
    try:
        host, port, *_ = sock.getpeername()
    except (OSError, ValueError):
        return "a client"
    return f"{host}:{port}"


def _sendfile_step(sock: socket.socket, fd: int, offset: int, count: int) -> int:
    """One ``sendfile(2)``; the file ending before *count* bytes is an error."""
    step = os.sendfile(sock.fileno(), fd, offset, count)
    if step == 0:
        raise OSError(errno.EIO, "the file is shorter than its response")
    return step


class GuardedConn(TConn):  # type: ignore[misc]
    """A connection with the bytes of its next request, read by the event loop."""

    def __init__(self, cfg: Any, sock: DeferringSocket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.inbox = bytearray()
        self.framing = RequestFraming(MAX_HEADER, MAX_BUFFERED_BODY)
        self.deadline = 0.0
        self.streaming = False
        self.lingered = 0

    @property
    def rest(self) -> FileRest | None:
        return self.sock.rest  # type: ignore[no-any-return]

    def take_rest(self) -> None:
        rest, self.sock.rest = self.sock.rest, None
        if rest is not None:
            rest.close()


class GuardedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` where threads only ever wait on the application, not on clients."""

    def init_process(self) -> None:
        self.deadlines = _deadlines_of(self.app)
        # TLS and h2c prior knowledge read the socket themselves (see the module doc).
        self.guarded = not self.cfg.is_ssl and self.cfg.http2_cleartext not in (
            "prior-knowledge",
            "both",
        )
        self.reading: dict[GuardedConn, None] = {}
        self.sending: dict[GuardedConn, bool] = {}
        self.lingering: dict[GuardedConn, None] = {}
        self.stream_slots = max(1, self.cfg.threads - max(1, self.cfg.threads // 4))
        self.streams_running = 0
        self.streams_waiting: deque[GuardedConn] = deque()
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app: Any = getattr(self, "wsgi")  # noqa: B009 (set by gunicorn, untyped)
        self.wsgi = partial(_noting_framing, app)

    # -- connections arriving -------------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        if not self.guarded:
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        sock = DeferringSocket(fileno=client.detach())
        _set_kernel_deadlines(sock, self.deadlines)
        conn = GuardedConn(self.cfg, sock, address, listener.getsockname())
        self._read_request(conn, time.monotonic() + self.deadlines.header)
        self._on_request_bytes(conn, sock)  # most clients send at once: saves a loop turn

    def on_client_socket_readable(self, conn: GuardedConn, client: socket.socket) -> None:
        """A kept-alive connection's next request begins: read it here, not in a thread."""
        if not self.guarded:
            super().on_client_socket_readable(conn, client)
            return
        self.keepalived_conns.remove(conn)
        self._read_request(conn, time.monotonic() + self.deadlines.header, registered=True)
        self._on_request_bytes(conn, client)

    # -- reading a request in the loop ----------------------------------------------------

    def _read_request(self, conn: GuardedConn, deadline: float, registered: bool = False) -> None:
        """Wait in the loop for the next request; *registered*: the poller already watches
        the socket (a kept-alive connection), so its callback is changed in place."""
        conn.sock.setblocking(False)
        conn.framing = RequestFraming(MAX_HEADER, MAX_BUFFERED_BODY)  # learnt a read at a time
        conn.deadline = deadline
        self.reading[conn] = None
        watch = self.poller.modify if registered else self.poller.register
        watch(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))
        if conn.inbox:  # a pipelined request may already be whole
            self._advance(conn)

    def _on_request_bytes(self, conn: GuardedConn, _sock: Any) -> None:
        if conn not in self.reading:
            return
        data = _received(conn)
        if data is None:
            return
        if not data:
            self._stop_reading(conn)
            self._close(conn)
            return
        conn.inbox += data
        self._advance(conn)

    def _advance(self, conn: GuardedConn) -> None:
        state = conn.framing.readiness(conn.inbox)
        if state is Readiness.NEED_MORE:
            return
        self._stop_reading(conn)
        if state is Readiness.HEADERS_TOO_LARGE:
            self._refuse(conn, _HEADERS_TOO_LARGE)
        elif state is Readiness.TLS_HANDSHAKE:
            self._refuse(conn, _NOT_TLS)
        elif state is Readiness.STREAM:
            conn.streaming = True
            self.streams_waiting.append(conn)
            self._start_waiting_streams()
        else:
            self._dispatch(conn)

    def _stop_reading(self, conn: GuardedConn) -> None:
        del self.reading[conn]
        self.poller.unregister(conn.sock)

    def _start_waiting_streams(self) -> None:
        while self.streams_waiting and self.streams_running < self.stream_slots:
            self.streams_running += 1
            self._dispatch(self.streams_waiting.popleft())

    def _dispatch(self, conn: GuardedConn) -> None:
        conn.data_ready = True  # gthread's wait for a first byte is over
        self.enqueue_req(conn)

    def handle(self, conn: GuardedConn) -> Any:
        """In a thread: gunicorn's parser starts from the bytes the loop read."""
        if getattr(conn, "inbox", None):
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(conn.inbox))
            conn.inbox.clear()
        return super().handle(conn)

    # -- after the application answered ---------------------------------------------------

    def finish_request(self, conn: TConn, fs: futures.Future[Any]) -> None:
        if not isinstance(conn, GuardedConn):  # accepted by gthread itself (TLS)
            super().finish_request(conn, fs)
            return
        if conn.streaming:
            conn.streaming = False
            self.streams_running -= 1
            self._start_waiting_streams()
        keepalive = not fs.cancelled() and fs.result() is True
        if conn.sock.fileno() < 0:  # gunicorn closed it: the application failed mid-response
            conn.take_rest()
            self._close(conn)
            return
        if conn.rest is not None:
            self._send_rest(conn, keepalive)
            return
        if not keepalive:
            self._close_gracefully(conn)
            return
        if self.alive:
            pipelined = conn.parser.unreader.take_buffered()
            if pipelined:
                conn.inbox += pipelined
                self._read_request(conn, time.monotonic() + self.deadlines.header)
                return
        super().finish_request(conn, fs)

    def _close_gracefully(self, conn: GuardedConn) -> None:
        """Close as RFC 9112 section 9.6 asks, lingering in the loop instead of a blocking read.

        gunicorn's own graceful close reads what the client still sends for up
        to two seconds on the event loop's thread, so a few hundred clients
        that keep sending stalled the whole worker.
        """
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + _LINGER
        conn.lingered = 0
        self.lingering[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger_bytes, conn))

    def _on_linger_bytes(self, conn: GuardedConn, _sock: Any) -> None:
        data = _received(conn)
        if data is None:
            return
        conn.lingered += len(data)
        if not data or conn.lingered > _LINGER_BYTES:
            self._stop_lingering(conn)

    def _stop_lingering(self, conn: GuardedConn) -> None:
        del self.lingering[conn]
        self.poller.unregister(conn.sock)
        self._close(conn)

    def _send_rest(self, conn: GuardedConn, keepalive: bool) -> None:
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + self.deadlines.send
        self.sending[conn] = keepalive
        self.poller.register(conn.sock, selectors.EVENT_WRITE, partial(self._on_writable, conn))

    def _on_writable(self, conn: GuardedConn, _sock: Any) -> None:
        rest = conn.rest
        if conn not in self.sending or rest is None:
            return
        try:
            step = min(rest.count, _SEND_SIZE)
            sent = os.sendfile(conn.sock.fileno(), rest.fd, rest.offset, step)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            sent = 0
        if sent == 0:  # the peer went away, or the file shrank: the response cannot finish
            self._finish_sending(conn, keepalive=False)
            return
        rest.offset += sent
        rest.count -= sent
        conn.deadline = time.monotonic() + self.deadlines.send
        if rest.count == 0:
            self._finish_sending(conn, keepalive=self.sending[conn])

    def _finish_sending(self, conn: GuardedConn, keepalive: bool) -> None:
        del self.sending[conn]
        self.poller.unregister(conn.sock)
        conn.take_rest()
        done: futures.Future[Any] = futures.Future()
        done.set_result(keepalive)
        self.finish_request(conn, done)

    # -- deadlines --------------------------------------------------------------------------

    def murder_pending(self) -> None:
        """Once a loop turn (about a second): end connections past their deadline.

        Requests already read, streaming or waiting for a stream slot are in
        flight: a stopping worker serves them within its graceful timeout.
        """
        super().murder_pending()
        now = time.monotonic()
        if not self.alive:
            self._cap_unbegun(now + STOP_KEEPALIVE_LINGER)
        for conn in [c for c in self.reading if c.deadline <= now]:
            self._stop_reading(conn)
            if conn.inbox:
                self._refuse(conn, _REQUEST_TIMEOUT)
            else:
                self._close(conn)
        for conn in [c for c in self.sending if c.deadline <= now]:
            self._finish_sending(conn, keepalive=False)
        for conn in [c for c in self.lingering if c.deadline <= now]:
            self._stop_lingering(conn)

    def _cap_unbegun(self, deadline: float) -> None:
        """A stopping worker waits until *deadline* at most for requests that have not begun.

        As gthread does for its kept-alive connections: a client that connected
        just before the stop is answered (``Connection: close``), not dropped.
        """
        for conn in self.reading:
            if not conn.inbox:
                conn.deadline = min(conn.deadline, deadline)

    def _refuse(self, conn: GuardedConn, answer: bytes) -> None:
        # A client that is gone or not reading gets no answer: closing is all there is to do.
        with contextlib.suppress(OSError):
            conn.sock.send(answer)
        self._close_gracefully(conn)  # a client still sending must see the answer, not a reset

    def _close(self, conn: GuardedConn) -> None:
        self.nr_conns -= 1
        conn.close()


def _received(conn: GuardedConn) -> bytes | None:
    """One read of the loop: the bytes, b"" once the client is gone, None if nothing came."""
    try:
        data: bytes = conn.sock.recv(_READ_SIZE)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
    return data


def _noting_framing(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
    """The application, telling the client socket whether its response has a length."""
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, DeferringSocket):
        return app(environ, start_response)

    def noting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        sock.may_defer = any(name.lower() == "content-length" for name, _ in headers)
        return start_response(status, headers, exc_info)

    sock.may_defer = False
    return app(environ, noting)


def _deadlines_of(app: Any) -> ClientDeadlines:
    """The Artifortress server's deadlines; plain gunicorn reads the settings itself."""
    deadlines = getattr(app, "client_deadlines", None)
    if isinstance(deadlines, ClientDeadlines):
        return deadlines
    return ClientDeadlines.of(Settings.load())


def _set_kernel_deadlines(sock: socket.socket, deadlines: ClientDeadlines) -> None:
    """Blocking reads and writes of a thread fail after this long without progress."""
    for option, seconds in (
        (socket.SO_RCVTIMEO, deadlines.body),
        (socket.SO_SNDTIMEO, deadlines.send),
    ):
        whole = int(seconds)
        micro = int((seconds - whole) * 1_000_000)
        sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, micro))
