"""A worker killed during an upload: its partial file goes at once, a live upload's stays.

``artifortress serve`` with two workers takes a generic PUT and a part of a
resumable upload session, each stalled half-way on a different worker. The
PUT's worker is killed with SIGKILL: its replacement reclaims the partial
file as it starts (no 24 h wait, no command), while the session's part,
still being received by the other worker, is kept and completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

MiB = 1024 * 1024
SIZE = 32 * MiB
SENT_FIRST = 8 * MiB
DATA = os.urandom(SIZE)
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environ = {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "4"}
    with ServerProcess(tmp_path / "home", environ) as running:
        yield running


@pytest.fixture
def token(server: ServerProcess) -> str:
    done = server.cli("admin", "create-token", "--user", "admin", "--admin")
    secret = done.stdout.strip().splitlines()[-1]
    answer = call(server, secret, "POST", "/v1/repos", {"key": "files", "format": "generic"})
    assert answer[0] == 201, answer
    return secret


def call(
    server: ServerProcess, token: str, method: str, path: str, body: object = None
) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Authorization": f"Bearer {token}"})
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


class StalledUpload:
    """A request whose body stops half-way until :meth:`finish` sends the rest."""

    def __init__(self, server: ServerProcess, token: str, method: str, path: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.conn.putrequest(method, path)
        self.conn.putheader("Authorization", f"Bearer {token}")
        self.conn.putheader("Content-Length", str(SIZE))
        self.conn.endheaders()
        # Sent from a thread: an upload queued behind a worker's busy stream slots is not
        # read, and the send would block until the socket timeout.
        self._first = threading.Thread(target=self._send_first, daemon=True)
        self._first.start()

    def _send_first(self) -> None:
        with contextlib.suppress(OSError):  # abandoned meanwhile
            self.conn.send(DATA[:SENT_FIRST])

    def finish(self) -> int:
        self._first.join()
        self.conn.send(DATA[SENT_FIRST:])
        answer = self.conn.getresponse()
        answer.read()
        self.conn.close()
        return answer.status

    def abandon(self) -> None:
        self.conn.close()


def held_files(server: ServerProcess) -> dict[Path, int]:
    """The blob store's temporary files, each with the worker process that has it open."""
    blobs = server.home / "blobs"
    files = [*blobs.glob("tmp/*"), *blobs.glob("uploads/*/.part-*")]
    holders = {}
    for pid in workers(server):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                holders[Path(os.readlink(fd))] = pid
            except OSError:
                continue  # closed meanwhile
    return {path: holders.get(path, 0) for path in files}


def workers(server: ServerProcess) -> list[int]:
    """The gunicorn workers: the children of the ``artifortress serve`` process."""
    return server.serving_workers()


def wait_for(what: str, check: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


def test_a_killed_workers_partial_file_is_reclaimed_and_a_live_uploads_kept(
    server: ServerProcess, token: str
) -> None:
    doomed = StalledUpload(server, token, "PUT", "/generic/files/big/1.0/big.bin")
    wait_for("the PUT's temporary file", lambda: len(held_files(server)) == 1)
    ((doomed_file, doomed_worker),) = held_files(server).items()
    assert doomed_file.parent.name == "tmp"
    assert doomed_worker

    status, session = call(server, token, "POST", "/v1/repos/files/uploads",
                           {"digest": DIGEST, "size": SIZE})  # fmt: skip
    assert status == 201, session
    part_path = f"/v1/repos/files/uploads/{session['id']}/parts/1"
    live, extra, files = None, [], 1
    for _attempt in range(20):  # until a part lands on the other worker
        upload = StalledUpload(server, token, "PUT", part_path)
        try:
            wait_for("the part's file", lambda n=files + 1: len(held_files(server)) == n, 5)
        except AssertionError:  # queued for a stream slot of the doomed worker: no file yet
            extra.append(upload)
            continue
        files += 1
        new = {p: w for p, w in held_files(server).items() if p != doomed_file}
        if any(worker != doomed_worker for worker in new.values()):
            live, live_file = upload, next(p for p, w in new.items() if w != doomed_worker)
            break
        extra.append(upload)  # on the doomed worker: it dies with it
    assert live is not None, "every part landed on the doomed worker"

    os.kill(doomed_worker, signal.SIGKILL)
    wait_for(
        "a replacement worker",
        lambda: len(workers(server)) == 2 and doomed_worker not in workers(server),
    )
    wait_for("the dead worker's file reclaimed", lambda: not doomed_file.exists())
    assert not any(f.name.startswith(".part-") and f != live_file for f in held_files(server))
    assert live_file.exists(), "a live upload's file is never taken"
    # The replacement worker says so once it has removed the file: a moment later.
    wait_for("the reclaim logged", lambda: "reclaimed" in server.stderr)

    for upload in (doomed, *extra):
        upload.abandon()
    assert live.finish() == 200
    status, done = call(server, token, "POST", f"/v1/repos/files/uploads/{session['id']}/complete")
    assert status == 200, done
    assert done["blob"]["digest"] == DIGEST
    assert held_files(server) == {}
