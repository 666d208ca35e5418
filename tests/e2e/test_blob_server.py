"""Blobs through the real server (gunicorn over loopback): bounded memory, and the direct
socket path for request bodies keeping HTTP/1.1 keep-alive, pipelining and disconnects right."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifortress.testing.server import ServerProcess
from artifortress.testing.transfer import Client, Payload, peak_rss, upload, worker_pids
from tests.support.pipelined import read_answers
from tests.support.s3 import CREDENTIALS, MotoS3

pytestmark = [pytest.mark.e2e]

MiB = 1024 * 1024
SIZE = 128 * MiB
LIMIT = 64 * MiB


def start_server(home: Path, environ: dict[str, str]) -> ServerProcess:
    return ServerProcess(
        home, {"ARTIFORTRESS_WORKERS": "1", "ARTIFORTRESS_THREADS": "2", **environ}
    )


def admin_client(server: ServerProcess) -> tuple[Client, str]:
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    client = Client(server.base_url, token)
    assert client.json("POST", "/v1/repos", {"key": "big", "format": "generic"})[0] == 201
    return client, token


@pytest.fixture(params=["local", "s3"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    environ: dict[str, str] = {}
    if request.param == "s3":
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        environ = {
            **CREDENTIALS,
            "ARTIFORTRESS_BLOB_URL": f"s3://{moto.create_bucket()}/big",
            "ARTIFORTRESS_S3_ENDPOINT_URL": moto.endpoint_url,
        }
    with start_server(tmp_path / "home", environ) as running:
        yield running


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with start_server(tmp_path / "home", {}) as running:
        yield running


def test_upload_and_download_in_bounded_memory(server: ServerProcess) -> None:
    client, _token = admin_client(server)
    warm_up = Payload.random(6 * MiB, b"warm-up")  # every code path once, imports included
    upload(client, "big", warm_up, warm_up.digest(), part_size=5 * MiB)
    assert client.get_stream(f"/v1/repos/big/blobs/{warm_up.digest()}") == (200, warm_up.size)
    assert server.process is not None
    (worker,) = worker_pids(server.process.pid)
    before = peak_rss(worker)

    big = Payload.random(SIZE, b"big")
    digest = big.digest()
    upload(client, "big", big, digest, part_size=SIZE // 2)
    assert client.get_stream(f"/v1/repos/big/blobs/{digest}") == (200, SIZE)
    ranged = client.get_stream(f"/v1/repos/big/blobs/{digest}", {"Range": f"bytes={MiB}-"})
    assert ranged == (206, SIZE - MiB)
    client.close()

    grown = peak_rss(worker) - before
    assert grown < LIMIT, f"the worker's peak RSS grew by {grown / MiB:.1f} MiB"


def _session(client: Client, data: bytes) -> str:
    payload_digest = "sha256:" + hashlib.sha256(data).hexdigest()
    status, created = client.json(
        "POST", "/v1/repos/big/uploads", {"digest": payload_digest, "size": len(data)}
    )
    assert status == 201, created
    return str(created["id"])


def test_pipelined_requests_after_a_part_are_answered_in_order(
    local_server: ServerProcess,
) -> None:
    client, token = admin_client(local_server)
    data = b"0123456789" * 300_000
    upload_id = _session(client, data)
    path = f"/v1/repos/big/uploads/{upload_id}"
    head = (
        f"PUT {path}/parts/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    status = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", local_server.port), timeout=30) as sock:
        sock.sendall(head + data + status)  # the second request rides behind the body
        put, get = read_answers(sock, 2)
    assert put.status == 200
    assert get.status == 200
    status_code, done = client.json("POST", f"{path}/complete")
    assert status_code == 200, done
    assert client.get_stream(f"/v1/repos/big/blobs/{done['blob']['digest']}") == (200, len(data))


def test_a_client_that_disconnects_mid_part_commits_nothing(local_server: ServerProcess) -> None:
    client, token = admin_client(local_server)
    data = b"x" * (6 * MiB)
    upload_id = _session(client, data)
    path = f"/v1/repos/big/uploads/{upload_id}"
    head = (
        f"PUT {path}/parts/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", local_server.port), timeout=30) as sock:
        sock.sendall(head + data[: 2 * MiB])
    # Wait until the server has dropped the half-received part's temporary file.
    receiving = local_server.home / "blobs" / "uploads" / upload_id
    deadline = time.monotonic() + 10
    while list(receiving.glob(".part-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(receiving.glob(".part-*"))
    time.sleep(0.3)  # and, had it not even started, until it has handled the request
    status, session = client.json("GET", path)
    assert (status, session["state"], session["parts"]) == (200, "open", [])

    whole = Payload(len(data), b"x" * MiB)
    assert client.put_stream(f"{path}/parts/1", whole, 0, len(data))[0] == 200
    status, done = client.json("POST", f"{path}/complete")
    assert status == 200, done
    assert done["blob"]["size"] == len(data)
