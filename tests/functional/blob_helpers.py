"""Shared steps of the blob-plane HTTP tests: payloads, sessions, parts, database views."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

import falcon.testing
from sqlalchemy import select

from artifortress.blobs.models import Blob, RepoBlob, UploadSession
from artifortress.container import Services
from artifortress.testing.helpers import Api

MiB = 1024 * 1024
#: S3's smallest part but the last (the default minimum on every store).
PART = 5 * MiB


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def start(api: Api, repo: str, digest: str, size: int) -> falcon.testing.Result:
    return api.post(f"/v1/repos/{repo}/uploads", {"digest": digest, "size": size})


def start_session(api: Api, repo: str, data: bytes, digest: str | None = None) -> str:
    """Open a session for *data* (or for another digest) and return its id."""
    created = start(api, repo, digest or digest_of(data), len(data))
    assert created.status_code == 201, created.text
    return str(created.json["id"])


def put_part(
    api: Api, repo: str, upload_id: str, number: int | str, data: bytes, **kwargs: Any
) -> falcon.testing.Result:
    headers = api.headers({"Content-Type": "application/octet-stream", **kwargs.pop("headers", {})})
    return api.client.simulate_request(
        "PUT",
        f"/v1/repos/{repo}/uploads/{upload_id}/parts/{number}",
        headers=headers,
        body=data,
        **kwargs,
    )


def complete(api: Api, repo: str, upload_id: str) -> falcon.testing.Result:
    return api.post(f"/v1/repos/{repo}/uploads/{upload_id}/complete")


def upload(api: Api, repo: str, data: bytes, part_sizes: Sequence[int] = ()) -> str:
    """Upload *data* through a session in parts of *part_sizes* (one part by default)."""
    created = start(api, repo, digest_of(data), len(data))
    assert created.status_code in (200, 201), created.text
    if created.status_code == 200:
        return digest_of(data)
    upload_id = created.json["id"]
    offset = 0
    for number, size in enumerate(part_sizes or [len(data)], start=1):
        sent = put_part(api, repo, upload_id, number, data[offset : offset + size])
        assert sent.status_code == 200, sent.text
        offset += size
    done = complete(api, repo, upload_id)
    assert done.status_code == 200, done.text
    return digest_of(data)


def blob_rows(services: Services) -> list[tuple[str, int]]:
    with services.sessions() as db:
        return [(b.digest, b.size) for b in db.scalars(select(Blob).order_by(Blob.digest))]


def links(services: Services) -> set[tuple[int, str]]:
    with services.sessions() as db:
        return {(r.repository_id, r.digest) for r in db.scalars(select(RepoBlob))}


def session_row(services: Services, upload_id: str) -> UploadSession:
    with services.sessions() as db:
        found = db.get(UploadSession, upload_id)
        assert found is not None
        return found
