"""Gateway.send_upstream_file: the fetching request gets the bytes as they arrive, others wait."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import falcon.testing
import pytest

from artifortress.remote.relay import ResponseCut

BYTES = bytes(range(256)) * 12 * 1024  # 3 MiB: several chunks
SHA256 = hashlib.sha256(BYTES).hexdigest()
FILE = "/files/big-1.0.tgz"
URL = "/upstreamtest/up/stream/big/1.0/big-1.0.tgz"


def wsgi_get(app, admin, path: str, query: str = "") -> tuple[str, Iterator[bytes]]:
    """The status and the body iterator of a GET, read as a server would."""
    environ = falcon.testing.create_environ(
        path=path, query_string=query, headers={"Authorization": f"Bearer {admin.token}"}
    )
    started: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: started.append(status))
    return started[0], body


def read_into(received: bytearray, body: Iterator[bytes]) -> None:
    for chunk in body:
        received += chunk


def test_the_first_bytes_go_out_before_the_download_ends(app, admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, stall_mid_body=0.8)  # half, a pause, the rest
    started = time.monotonic()
    status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert status.startswith("200")
    chunks = iter(body)
    first = next(chunks)
    assert time.monotonic() - started < 0.6  # before the pause ended
    received = first + b"".join(chunks)
    body.close()  # type: ignore[attr-defined]
    assert received == BYTES
    assert admin.get("/v1/repos/up/packages/big/versions/1.0").status_code == 200
    assert admin.get(URL).content == BYTES  # now from the blob plane
    assert upstream.hits[FILE] == 1


def test_a_mismatch_ends_the_response_short_and_stores_nothing(
    app, admin, make_remote, upstream, caplog
):
    make_remote("up")
    upstream.serve(FILE, BYTES[::-1])
    status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    assert status.startswith("200")  # the bytes were on their way
    received = bytearray()
    with pytest.raises(ResponseCut):  # a reset: servers drop the connection, no traceback
        read_into(received, body)
    body.close()  # type: ignore[attr-defined]
    assert len(received) < len(BYTES)  # the last byte never went out
    [line] = [r for r in caplog.records if r.name == "artifortress.remote" and "short" in r.message]
    assert "big-1.0.tgz from upstream " + upstream.url.split("/")[2] in line.message
    assert "sha256" in line.message  # the reason
    assert line.exc_info is None
    assert admin.get("/v1/repos/up/packages/big").status_code == 404
    upstream.serve(FILE, BYTES)
    assert admin.get(URL, params={"sha256": SHA256}).content == BYTES


def test_a_client_that_leaves_does_not_stop_the_fetch(app, admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL)
    next(iter(body))
    body.close()  # type: ignore[attr-defined]  # the server closes the body of a gone client
    assert admin.get("/v1/repos/up/packages/big/versions/1.0").status_code == 200
    assert upstream.hits[FILE] == 1


def test_a_client_reading_slowly_holds_up_nobody_else(app, admin, make_remote, upstream):
    """The fetch runs at the upstream's pace: others get the file while the first still reads."""
    make_remote("up")
    upstream.serve(FILE, BYTES)
    _status, body = wsgi_get(app, admin, URL, f"sha256={SHA256}")
    chunks = iter(body)
    received = bytearray(next(chunks))  # then it reads nothing for a while
    other: list[bytes] = []
    second = threading.Thread(target=lambda: other.append(admin.get(URL).content), daemon=True)
    started = time.monotonic()
    second.start()
    second.join(timeout=10)
    waited = time.monotonic() - started
    for chunk in chunks:  # the trickle resumes, and ends
        received += chunk
    body.close()  # type: ignore[attr-defined]
    assert other == [BYTES]
    assert waited < 5
    assert received == BYTES
    assert upstream.hits[FILE] == 1


def test_concurrent_requests_cause_one_upstream_get(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, delay=0.3)
    results: list[bytes] = []
    start = threading.Barrier(10)

    def fetch() -> None:
        start.wait()
        results.append(admin.get(URL).content)

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [BYTES] * 10
    assert upstream.hits[FILE] == 1


def test_head_and_ranges_of_a_cold_file_are_answered_from_the_blob(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    head = admin.head(URL)
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(BYTES)))
    upstream.serve("/files/big-2.0.tgz", BYTES)
    part = admin.get("/upstreamtest/up/stream/big/2.0/big-2.0.tgz", headers={"Range": "bytes=0-9"})
    assert (part.status_code, part.content) == (206, BYTES[:10])
