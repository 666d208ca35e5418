"""A broken request body is a 400 in the client's protocol on every route that reads one.

A malformed chunked encoding once escaped ``blobs/wsgibody.py`` as gunicorn's
``InvalidChunkSize`` (a 500).  Bodies are read three ways (the core's chunks,
falcon's ``bounded_stream`` under the JSON and plugin parsers, the PyPI
plugin's reader); each route below is sent, over a raw socket to the real
server, a bad chunk size, a missing chunk terminator, a body that ends before
its Content-Length, and an invalid Content-Length: each answers 4xx and
stores nothing.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from artifortress.testing.server import ServerProcess
from plugins.npm.tests.test_npm_http import body as npm_publish_body
from plugins.npm.tests.test_npm_http import tarball
from tests.support.pipelined import read_answers

pytestmark = [pytest.mark.e2e]

#: Larger than any body a server loop might buffer before the application reads it,
#: so the broken part reaches the application's own reader.
FIRST = b"x" * 150_000


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    content_type: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("serve") / "home"
    with ServerProcess(home, {"ARTIFORTRESS_WORKERS": "1"}) as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    done = server.cli("admin", "create-token", "--user", "admin", "--admin")
    return done.stdout.strip().splitlines()[-1]


def request(
    server: ServerProcess, token: str, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, data


@pytest.fixture(scope="module")
def upload_id(server: ServerProcess, token: str) -> str:
    """An upload session of the generic repository, for its parts."""
    for key, format in [("files", "generic"), ("py", "pypi"), ("js", "npm"), ("charts", "helm")]:
        doc = json.dumps({"key": key, "format": format}).encode()
        assert request(server, token, "POST", "/v1/repos", doc)[0] == 201
    session = json.dumps({"digest": "sha256:" + "0" * 64, "size": 300_000}).encode()
    status, data = request(server, token, "POST", "/v1/repos/files/uploads", session)
    assert status == 201, data
    return str(json.loads(data)["id"])


MULTIPART = "multipart/form-data; boundary=b0undary"
TARGETS = {
    "core JSON": Target("POST", "/v1/repos", "application/json"),
    "upload session": Target("POST", "/v1/repos/files/uploads", "application/json"),
    "upload part": Target(
        "PUT", "/v1/repos/files/uploads/{upload}/parts/1", "application/octet-stream"
    ),
    "pypi upload": Target("POST", "/pypi/py/legacy/", MULTIPART),
    "npm publish": Target("PUT", "/npm/js/broken-pkg", "application/json"),
    "generic put": Target("PUT", "/generic/files/tool/1.0/tool.bin", "application/octet-stream"),
    "helm upload": Target("POST", "/helm/charts/api/charts", "application/gzip"),
}


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


#: name -> (extra headers, body bytes sent before the client half-closes)
BROKEN: dict[str, tuple[dict[str, str], bytes]] = {
    "bad chunk size": ({"Transfer-Encoding": "chunked"}, chunk(FIRST) + b"zz\r\nabc\r\n0\r\n\r\n"),
    "chunk without terminator": (
        {"Transfer-Encoding": "chunked"},
        chunk(FIRST) + b"3\r\nabcXY5\r\nabcde\r\n0\r\n\r\n",
    ),
    "chunked body cut short": ({"Transfer-Encoding": "chunked"}, chunk(FIRST) + b"ffff\r\nabc"),
    "shorter than Content-Length": ({"Content-Length": str(2 * len(FIRST))}, FIRST),
    "invalid Content-Length": ({"Content-Length": "12a"}, FIRST),
    "negative Content-Length": ({"Content-Length": "-5"}, FIRST),
    "two Content-Lengths": ({"Content-Length": "5, 6"}, FIRST),
}


def send_raw(
    server: ServerProcess,
    token: str,
    target: Target,
    headers: dict[str, str],
    body: bytes,
    upload: str,
) -> int:
    """Send the request as written, half-close, and return the status the server answers."""
    lines = [
        f"{target.method} {target.path.format(upload=upload)} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        f"Content-Type: {target.content_type}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)  # the client has nothing more to send
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        answer.read()
        return answer.status


def nothing_stored(server: ServerProcess, token: str, upload: str) -> list[str]:
    """What a broken body may have left behind (an empty list when nothing)."""
    left = []
    for repo in ("files", "py", "js", "charts"):
        status, data = request(server, token, "GET", f"/v1/repos/{repo}/packages")
        assert status == 200, data
        left += [f"{repo}: {p}" for p in json.loads(data)["packages"]]
    status, data = request(server, token, "GET", f"/v1/repos/files/uploads/{upload}")
    assert status == 200, data
    if json.loads(data)["parts"]:
        left.append(f"upload parts {json.loads(data)['parts']}")
    status, data = request(server, token, "GET", "/v1/repos")
    keys = {repo["key"] for repo in json.loads(data)["repos"]}
    left += sorted(keys - {"files", "py", "js", "charts", "whole", "chunked"})
    return left


@pytest.mark.parametrize("route", TARGETS)
@pytest.mark.parametrize("broken", BROKEN)
def test_a_broken_body_is_a_4xx_and_stores_nothing(
    server: ServerProcess, token: str, upload_id: str, route: str, broken: str
) -> None:
    headers, body = BROKEN[broken]
    status = send_raw(server, token, TARGETS[route], headers, body, upload_id)
    assert 400 <= status < 500, f"{route}, {broken}: {status}"
    assert nothing_stored(server, token, upload_id) == []


def test_bytes_after_the_declared_length_are_never_stored(
    server: ServerProcess, token: str, upload_id: str
) -> None:
    """Past Content-Length starts the next request: it is refused, the file holds only its bytes."""
    doc = json.dumps({"key": "whole", "format": "generic"}).encode()
    assert request(server, token, "POST", "/v1/repos", doc)[0] == 201
    lines = [
        "PUT /generic/whole/exact/1.0/exact.bin HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Length: 5",
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"hello" + b"MORE BYTES\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        statuses = [answer.status for answer in read_answers(sock, 2)]
    assert statuses == [201, 400]
    assert request(server, token, "GET", "/generic/whole/exact/1.0/exact.bin") == (200, b"hello")


def send_chunked(server: ServerProcess, token: str, method: str, path: str, doc: object) -> int:
    """*doc* as a JSON body in three chunks, as a client that streams its body sends it."""
    raw = json.dumps(doc).encode()
    third = len(raw) // 3
    pieces = [raw[:third], raw[third : 2 * third], raw[2 * third :]]
    body = b"".join(chunk(piece) for piece in pieces) + b"0\r\n\r\n"
    target = Target(method, path, "application/json")
    return send_raw(server, token, target, {"Transfer-Encoding": "chunked"}, body, "")


def test_a_well_formed_chunked_json_body_is_read_whole(server: ServerProcess, token: str) -> None:
    """A JSON body without Content-Length was read as empty ("needs a JSON body")."""
    repo = {"key": "chunked", "format": "npm", "description": "x" * 1000}
    assert send_chunked(server, token, "POST", "/v1/repos", repo) == 201
    doc = npm_publish_body("chunky", "1.0.0", tarball("chunky", "1.0.0"))
    assert send_chunked(server, token, "PUT", "/npm/chunked/chunky", doc) == 201
    status, data = request(server, token, "GET", "/npm/chunked/chunky")
    assert status == 200, data
    assert "1.0.0" in json.loads(data)["versions"]
