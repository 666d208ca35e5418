"""Sending a blob over HTTP: validators, conditional requests, single ranges.

Shared by the core's ``/v1/repos/{repo}/blobs/...`` and every format plugin's
download URLs, so all of them answer ranges, 304 and 416 the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from typing import Protocol

import falcon

from artifortress.blobs.digests import hex_of
from artifortress.blobs.httpio import none_match, parse_range, range_applies
from artifortress.blobs.store import BlobStore


class StoredBytes(Protocol):
    """What sending needs of a blob: a ``Blob`` row, or a lighter row naming one."""

    @property
    def digest(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def created_at(self) -> dt.datetime: ...


@dataclasses.dataclass(frozen=True)
class Presentation:
    """How the bytes are presented: media type and, optionally, a download file name."""

    media_type: str = "application/octet-stream"
    filename: str | None = None
    #: Serve through a short-lived presigned URL when the store supports it.
    presign_ttl: int | None = None


def send_blob(
    req: falcon.Request,
    resp: falcon.Response,
    store: BlobStore,
    blob: StoredBytes,
    presentation: Presentation = Presentation(),
    handoff: str | None = None,
) -> None:
    """Answer GET or HEAD for *blob*: 200, 206, 304, 416 or a presigned redirect.

    *handoff* is the front proxy's internal URI for the blob: a full-body GET
    is then answered with ``X-Accel-Redirect`` and the proxy sends the file.
    Ranges stay here, where the validators they depend on are ours.
    """
    with_body = req.method != "HEAD"
    etag = f'"{blob.digest}"'
    resp.etag = etag
    resp.last_modified = blob.created_at
    resp.cache_control = ["private", "max-age=31536000", "immutable"]
    if none_match(req.get_header("If-None-Match"), etag):
        resp.status = falcon.HTTP_304
        return
    if (
        with_body
        and presentation.presign_ttl
        and _redirect(resp, store, blob, presentation.presign_ttl)
    ):
        return
    resp.accept_ranges = "bytes"
    resp.content_type = presentation.media_type
    resp.set_header("X-Checksum-Sha256", hex_of(blob.digest))
    if presentation.filename:
        resp.set_header("Content-Disposition", content_disposition(presentation.filename))
    if handoff is not None and with_body and req.get_header("Range") is None:
        resp.set_header("X-Accel-Redirect", handoff)
        return
    window = None
    if range_applies(req.get_header("If-Range"), etag, blob.created_at):
        window = parse_range(req.get_header("Range"), blob.size)
    start, length = (window.start, window.length) if window else (0, blob.size)
    if window is not None:
        resp.status = falcon.HTTP_206
        resp.content_range = (window.start, window.end, blob.size)
    resp.content_length = length
    if not with_body:
        return
    if length == 0:
        resp.data = b""
        return
    # Opened here, so an unreachable store is a clean 503 before any byte is sent.
    resp.stream = store.open(blob.digest, start, length)


def _redirect(resp: falcon.Response, store: BlobStore, blob: StoredBytes, ttl: int) -> bool:
    url = store.presigned_url(blob.digest, ttl)
    if url is None:
        return False
    resp.status = falcon.HTTP_307
    resp.location = url
    return True


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 6266 / 5987 UTF-8 name."""
    base = filename.rsplit("/", 1)[-1]
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in base)
    quoted = urllib.parse.quote(base, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
