"""Moving large blobs through a real server over loopback HTTP, in bounded memory.

Shared by the memory tests and ``bench/blobs.py``: the body is streamed from
a repeated block (so a 1 GiB upload needs 1 MiB of client memory), the
download is read into one reused buffer, and a worker's peak resident set is
read from ``/proc`` (``VmHWM``), which is what the 64 MiB limit is about.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BLOCK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Payload:
    """*size* bytes made of one random block repeated, with their digest."""

    size: int
    block: bytes

    @classmethod
    def random(cls, size: int, seed: bytes = b"") -> Payload:
        block = hashlib.sha256(seed).digest() + os.urandom(BLOCK - 32)
        return cls(size, block)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The bytes in ``[start, end)``, at most one block at a time (views, not copies)."""
        end = self.size if end is None else end
        view = memoryview(self.block)
        position = start
        while position < end:
            offset = position % BLOCK
            take = min(BLOCK - offset, end - position)
            yield view[offset : offset + take]
            position += take

    def digest(self) -> str:
        sha = hashlib.sha256()
        for chunk in self.chunks():
            sha.update(chunk)
        return f"sha256:{sha.hexdigest()}"


class Client:
    """One keep-alive HTTP connection to the server, with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=timeout
        )
        self._auth = {"Authorization": f"Bearer {token}"}

    def json(self, method: str, path: str, doc: Any = None) -> tuple[int, Any]:
        body = json.dumps(doc).encode() if doc is not None else None
        headers = {**self._auth, "Content-Type": "application/json"}
        self._conn.request(method, path, body=body, headers=headers)
        answer = self._conn.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None

    def put_stream(self, path: str, payload: Payload, start: int, end: int) -> tuple[int, Any]:
        """PUT ``payload[start:end]`` as the raw body, streamed block by block."""
        self._conn.putrequest("PUT", path)
        for name, value in {
            **self._auth,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(end - start),
        }.items():
            self._conn.putheader(name, value)
        self._conn.endheaders()
        for chunk in payload.chunks(start, end):
            self._conn.send(chunk)
        answer = self._conn.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None

    def get_stream(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, int]:
        """GET *path*, reading the body into one reused buffer; returns (status, bytes read)."""
        self._conn.request("GET", path, headers={**self._auth, **(headers or {})})
        answer = self._conn.getresponse()
        buffer = bytearray(BLOCK)
        total = 0
        while count := answer.readinto(buffer):
            total += count
        return answer.status, total

    def close(self) -> None:
        self._conn.close()


def upload(
    client: Client, repo: str, payload: Payload, digest: str, part_size: int
) -> dict[str, float]:
    """Create a session, send the parts in order, complete; seconds spent in each step."""
    started = time.perf_counter()
    status, created = client.json(
        "POST", f"/v1/repos/{repo}/uploads", {"digest": digest, "size": payload.size}
    )
    if status != 201:
        raise RuntimeError(f"creating the session answered {status}: {created}")
    base = f"/v1/repos/{repo}/uploads/{created['id']}"
    sent = time.perf_counter()
    for number, offset in enumerate(range(0, payload.size, part_size), start=1):
        status, answer = client.put_stream(
            f"{base}/parts/{number}", payload, offset, min(payload.size, offset + part_size)
        )
        if status != 200:
            raise RuntimeError(f"part {number} answered {status}: {answer}")
    parts_done = time.perf_counter()
    status, answer = client.json("POST", f"{base}/complete")
    if status != 200:
        raise RuntimeError(f"completing answered {status}: {answer}")
    done = time.perf_counter()
    return {
        "create": sent - started,
        "parts": parts_done - sent,
        "complete": done - parts_done,
        "total": done - started,
    }


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers: children of the master process but the embedded event worker."""
    from artifortress.testing.server import child_pids, is_event_worker

    return [pid for pid in child_pids(master_pid) if not is_event_worker(pid)]


def peak_rss(pid: int) -> int:
    """The highest resident set size of *pid* so far, in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")
