"""Slow and stalled clients cannot starve ``artifortress serve``, alone or behind deploy/nginx.conf.

Hundreds of connections that send half a request, stall a request body or
stop reading a large download must leave other clients' latency essentially
unchanged (gunicorn's plain gthread worker gave each of them a thread: 16 of
them made /healthz time out).  The deadlines are short here so that the
tests that wait for them are quick.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from artifortress.server import WORKER_CLASS
from artifortress.testing.server import ServerProcess, free_port
from tests.support.nginx import shipped_front

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEADLINE = 4.0
LARGE = bytes(range(256)) * (16 * 4096)  # 16 MiB: far more than the socket buffers hold
LARGE_PATH = "/generic/files/big/1.0/big.bin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("slow") / "home"
    deadlines = {
        "ARTIFORTRESS_CLIENT_HEADER_TIMEOUT": f"{DEADLINE}s",
        "ARTIFORTRESS_CLIENT_BODY_TIMEOUT": f"{DEADLINE}s",
        "ARTIFORTRESS_CLIENT_SEND_TIMEOUT": f"{DEADLINE}s",
    }
    with ServerProcess(home, deadlines) as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    created = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = created.stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {secret}"}
    made = requests.post(
        f"{server.base_url}/v1/repos",
        json={"key": "files", "format": "generic", "public": True},
        headers=auth,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    stored = requests.put(f"{server.base_url}{LARGE_PATH}", data=LARGE, headers=auth, timeout=30)
    assert stored.status_code == 201, stored.text
    return secret


@pytest.fixture(scope="module")
def front(
    server: ServerProcess, token: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with shipped_front(server.home, server.port, tmp_path_factory.mktemp("nginx-slow")) as url:
        yield url


def address(base_url: str) -> tuple[str, int]:
    host, port = base_url.removeprefix("http://").split(":")
    return host, int(port)


def healthz_latencies(base_url: str, count: int = 20) -> list[float]:
    """Seconds per GET /healthz on a new connection each; 99 for one that failed."""
    host, port = address(base_url)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            seconds.append(time.perf_counter() - started if answer.status == 200 else 99.0)
        except OSError:
            seconds.append(99.0)
        finally:
            connection.close()
    return seconds


def stalled(base_url: str, first_bytes: bytes, stack: ExitStack, receive_buffer: int = 0) -> None:
    """A connection that sends *first_bytes* and then nothing, open until *stack* closes."""
    sock = stack.enter_context(socket.socket())
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(address(base_url))
    sock.sendall(first_bytes)


def open_stalls(base_url: str, token: str, stack: ExitStack, scale: int) -> None:
    auth = f"Authorization: Bearer {token}\r\n".encode()
    for _ in range(2 * scale):
        stalled(base_url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Ag", stack)
    for _ in range(scale):
        small = b"POST /v1/repos HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 500\r\n\r\n{"
        stalled(base_url, small, stack)
    for number in range(scale // 2):
        large = (
            f"PUT /generic/files/stall/1.0/f{number} HTTP/1.1\r\nHost: x\r\n".encode()
            + auth
            + b"Content-Length: 100000000\r\n\r\n"
            + b"x" * 200_000
        )
        stalled(base_url, large, stack)
    for _ in range(scale // 4):
        download = f"GET {LARGE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        stalled(base_url, download, stack, receive_buffer=4096)


@pytest.mark.parametrize("where", ["direct", "behind nginx"])
def test_stalled_clients_leave_other_clients_latency_unchanged(
    where: str, server: ServerProcess, token: str, request: pytest.FixtureRequest
) -> None:
    base_url = server.base_url if where == "direct" else request.getfixturevalue("front")
    before = statistics.median(healthz_latencies(base_url))
    with ExitStack() as stack:
        # Direct: 200 half-sent headers, 100 stalled small and 50 stalled large bodies,
        # 25 readers that stopped reading 16 MiB; a third fewer through nginx, whose
        # shipped config allows 1,024 connections, two per proxied request.
        open_stalls(base_url, token, stack, scale=100 if where == "direct" else 66)
        time.sleep(0.5)
        during = healthz_latencies(base_url)
    assert max(during) < 2.0, during
    assert statistics.median(during) < max(0.1, 10 * before), (before, during)


def test_a_request_that_does_not_arrive_in_time_is_answered_408(server: ServerProcess) -> None:
    with socket.create_connection(address(server.base_url), timeout=DEADLINE + 5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert DEADLINE - 1 < waited < DEADLINE + 3


def test_a_tls_client_is_refused_at_once_and_plain_http_still_works(
    server: ServerProcess,
) -> None:
    """Registry clients without TLS verification try HTTPS first, then fall back to HTTP."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    with (
        socket.create_connection(address(server.base_url), timeout=DEADLINE + 5) as sock,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(sock, server_hostname="127.0.0.1")
    assert time.monotonic() - started < 2.0
    assert requests.get(f"{server.base_url}/healthz", timeout=5).status_code == 200


def test_a_header_block_beyond_64_kib_is_answered_431(server: ServerProcess) -> None:
    with socket.create_connection(address(server.base_url), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431 "), answer


def test_a_stalled_large_upload_ends_and_stores_nothing(server: ServerProcess, token: str) -> None:
    path = "/generic/files/stalled/1.0/never.bin"
    with socket.create_connection(address(server.base_url), timeout=DEADLINE + 10) as sock:
        sock.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n".encode()
            + b"Content-Length: 10000000\r\n\r\n"
            + b"x" * 300_000
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert requests.get(f"{server.base_url}{path}", timeout=10).status_code == 404


def read_response(sock: socket.socket, pause: float = 0.0) -> tuple[bytes, bytes]:
    """(head, body) of one response with Content-Length, pausing before reading the body."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    time.sleep(pause)
    body = bytearray()
    while len(body) < length:
        chunk = sock.recv(min(65536, length - len(body)))
        assert chunk, f"connection closed after {len(body)} of {length} bytes"
        body += chunk
    return head, bytes(body)


def test_a_slow_reader_gets_every_byte_and_keeps_its_connection(server: ServerProcess) -> None:
    request = f"GET {LARGE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection(address(server.base_url), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(request)
        head, body = read_response(sock, pause=1.0)  # the server's loop sends the rest
        assert head.startswith(b"HTTP/1.1 200 ")
        assert hashlib.sha256(body).digest() == hashlib.sha256(LARGE).digest()
        sock.sendall(request + request)  # kept alive, and pipelined
        for _ in range(2):
            head, body = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert body == LARGE


def test_a_reader_that_stops_is_dropped_after_the_deadline(server: ServerProcess) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(address(server.base_url))
        sock.sendall(f"GET {LARGE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(DEADLINE + 2.5)
        sock.settimeout(10)
        received = 0
        while chunk := sock.recv(65536):
            received += len(chunk)
    assert 0 < received < len(LARGE)


PLAIN_APP = '''
import os
import signal

FILE = os.environ["SLOW_TEST_FILE"]


class FailingClose:
    """A file body whose close() fails, as a broken middleware's may."""

    def __init__(self):
        self._file = open(FILE, "rb")

    def fileno(self):
        return self._file.fileno()

    def read(self, size=-1):
        return self._file.read(size)

    def close(self):
        self._file.close()
        raise RuntimeError("close failed")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/chunked-file":  # no Content-Length: gunicorn frames it as chunked
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(FILE, "rb"))
    if path == "/failing-file":
        start_response("200 OK", [("Content-Length", str(os.path.getsize(FILE)))])
        return environ["wsgi.file_wrapper"](FailingClose())
    if path == "/bytes":  # a body a thread writes (not a file)
        body = b"x" * (4 * 1024 * 1024)
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/length":  # of the request body, read whole
        body = str(len(environ["wsgi.input"].read())).encode()
    else:
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''
FILE_SIZE = 4 * 1024 * 1024


@contextlib.contextmanager
def plain_gunicorn(folder: Path, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn with the worker, one process of 4 threads, serving PLAIN_APP: (master, port).

    *settings*: environment variables, such as the client deadlines the worker reads.
    """
    (folder / "plain_app.py").write_text(PLAIN_APP)
    (folder / "file.bin").write_bytes(os.urandom(FILE_SIZE))
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-k", WORKER_CLASS, "-b", f"127.0.0.1:{port}", "--threads", "4"]
    command += ["--no-control-socket", "plain_app:app"]
    environ = {**os.environ, "SLOW_TEST_FILE": str(folder / "file.bin"), **settings}
    log = (folder / "server.log").open("wb")
    with log, subprocess.Popen(command, cwd=folder, env=environ, stderr=log) as server:
        try:
            plain_get(port, "/pid")  # once it answers
            yield server, port
        finally:
            server.terminate()
            server.wait(timeout=30)


def plain_get(port: int, path: str) -> bytes:
    """The body of GET *path*, retried while the server is not listening yet."""
    for _ in range(100):
        try:
            answer = requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
            return answer.content
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no answer to GET {path}")


def test_a_chunked_file_response_keeps_its_framing_for_a_slow_reader(tmp_path: Path) -> None:
    """The worker defers the rest of a file only when the response has a length."""
    with plain_gunicorn(tmp_path) as (_, port):
        answer = slow_get(port, "/chunked-file", pause=1.0)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower(), head
    assert dechunk(body) == (tmp_path / "file.bin").read_bytes()


def test_a_chunked_file_response_is_dropped_when_its_reader_stops(tmp_path: Path) -> None:
    """A file sent whole by a thread (no Content-Length) has the send deadline too: four
    readers that stop held the four threads for as long as they stayed connected."""
    with (
        plain_gunicorn(tmp_path, ARTIFORTRESS_CLIENT_SEND_TIMEOUT="1s") as (_, port),
        ExitStack() as stack,
    ):
        for _ in range(4):
            stalled(
                f"http://127.0.0.1:{port}",
                b"GET /chunked-file HTTP/1.1\r\nHost: x\r\n\r\n",
                stack,
                receive_buffer=4096,
            )
        time.sleep(3)
        started = time.monotonic()
        plain_get(port, "/pid")
        assert time.monotonic() - started < 2


def test_a_reader_that_stops_is_cut_quietly_by_the_send_deadline(tmp_path: Path) -> None:
    """A thread writing a body (page, S3 stream) to a reader that stopped is freed at the
    deadline, and the log says so in a line, not with gunicorn's socket-error traceback."""
    with (
        plain_gunicorn(tmp_path, ARTIFORTRESS_CLIENT_SEND_TIMEOUT="1s") as (_, port),
        ExitStack() as stack,
    ):
        for _ in range(4):
            request = b"GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n"
            stalled(f"http://127.0.0.1:{port}", request, stack, receive_buffer=4096)
        time.sleep(3)
        started = time.monotonic()
        plain_get(port, "/pid")
        assert time.monotonic() - started < 2
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def slow_get(port: int, path: str, pause: float) -> bytes:
    """The raw answer to GET *path* on a small receive buffer, read after *pause* seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        time.sleep(pause)
        raw = bytearray()
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                raw += chunk
    return bytes(raw)


def test_an_application_failing_after_a_deferred_file_leaves_the_worker_running(
    tmp_path: Path,
) -> None:
    """gunicorn closes the socket of a response that failed after its headers; the rest of
    its file is dropped, not sent on the closed socket (which ended the worker and every
    connection it held)."""
    with plain_gunicorn(tmp_path) as (_, port):
        worker = plain_get(port, "/pid")
        answer = slow_get(port, "/failing-file", pause=1.0)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert len(answer) < FILE_SIZE
        assert plain_get(port, "/pid") == worker


def dechunk(body: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(out)
        out += body[:size]
        assert body[size : size + 2] == b"\r\n", "broken chunk framing"
        body = body[size + 2 :]


def test_a_stopping_worker_answers_a_client_that_connected_before_the_stop(
    tmp_path: Path,
) -> None:
    """As gthread waits on kept-alive connections, a stopping worker waits briefly for the
    request of a connection it accepted (closed at once before: a worker recycled by
    max_requests dropped a few fresh connections each time under load)."""
    with (
        plain_gunicorn(tmp_path) as (server, port),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        time.sleep(0.5)  # accepted, in the worker's event loop
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        answer = send_rest(sock, b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer


def test_a_stopping_worker_serves_the_uploads_waiting_for_a_thread(tmp_path: Path) -> None:
    """Large uploads waiting in the loop for a stream slot are requests in flight too: a
    stopping worker serves them as slots free up (closed unanswered before)."""
    head = b"PUT /length HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"
    with plain_gunicorn(tmp_path) as (server, port), ExitStack() as stack:
        uploads = []
        for _ in range(4):  # 4 threads: 3 stream bodies at once, the 4th waits
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            sock.sendall(head + b"x" * 100_000)
            uploads.append(sock)
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        answers = [send_rest(sock, b"x" * 100_000) for sock in uploads]
    assert [answer.partition(b"\r\n\r\n")[2] for answer in answers] == [b"200000"] * 4, answers


def send_rest(sock: socket.socket, rest: bytes) -> bytes:
    """The raw answer, read to the end, once *rest* of the request is sent; b"" if closed."""
    answer = bytearray()
    try:
        sock.sendall(rest)
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        return b""
    return bytes(answer)
