"""``/v1/repos/{repo}/uploads`` (resumable upload sessions) and ``/v1/repos/{repo}/blobs``."""

from __future__ import annotations

import falcon

from artifortress.blobs import sessions
from artifortress.blobs.digests import DIGEST, parse_digest
from artifortress.blobs.download import Presentation, send_blob
from artifortress.blobs.models import UploadSession
from artifortress.blobs.services import blob_to_json, find_linked_blob
from artifortress.blobs.store import (
    BlobNotFound,
    BlobStore,
    InvalidDigest,
    InvalidParts,
    PartTooLarge,
)
from artifortress.blobs.wsgibody import body_chunks, declared_length
from artifortress.http.body import ERROR_CODE, json_body, send_json
from artifortress.http.openapi import answers
from artifortress.http.permissions import requires
from artifortress.rbac.permissions import Permission
from artifortress.versions.queries import is_withheld

UPLOAD_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["digest", "size"],
    "properties": {
        "digest": {"type": "string", "pattern": DIGEST.pattern, ERROR_CODE: InvalidDigest.code},
        "size": {"type": "integer", "minimum": 0},
    },
}


def _store(req: falcon.Request) -> BlobStore:
    store: BlobStore = req.context.services.blobs
    return store


def _limits(req: falcon.Request) -> sessions.UploadLimits:
    return sessions.UploadLimits.from_settings(req.context.services.settings)


def _session(req: falcon.Request, upload_id: str) -> UploadSession:
    ctx = req.context
    return sessions.get_session(ctx.db, ctx.principal, ctx.repo, upload_id)


class UploadsResource:
    @requires(Permission.WRITE, action="upload.create")
    @json_body(UPLOAD_CREATE)
    @answers(201, 200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Start a resumable upload of announced bytes (201), or dedupe (200).

        Answers 200 ``{"state": "committed", "deduplicated": true}`` without
        any bytes when a repository the caller may read already holds the blob;
        the blob is then linked to this repository as well.
        """
        ctx = req.context
        digest = parse_digest(ctx.body["digest"])
        created = sessions.create_session(
            ctx.db,
            ctx.caller,
            _store(req),
            ctx.repo,
            _limits(req),
            digest=digest,
            size=ctx.body["size"],
        )
        if created.deduplicated is not None:
            doc = {"state": "committed", "deduplicated": True, **blob_to_json(created.deduplicated)}
            send_json(resp, doc)
            return
        assert created.session is not None
        doc = sessions.session_to_json(created.session, ctx.repo, parts=[])
        resp.location = doc["location"]
        send_json(resp, {**doc, "deduplicated": False}, status=201)


class UploadResource:
    @requires(Permission.WRITE)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, upload_id: str) -> None:
        """State of an upload session and the parts received so far (to resume)."""
        session = _session(req, upload_id)
        parts = sessions.received_parts(_store(req), session)
        send_json(resp, sessions.session_to_json(session, req.context.repo, parts))

    @requires(Permission.WRITE, action="upload.abort")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, upload_id: str
    ) -> None:
        """Abort an upload session and discard its parts."""
        ctx = req.context
        session = _session(req, upload_id)
        sessions.abort_session(ctx.db, ctx.caller, _store(req), ctx.repo, session)
        send_json(resp, sessions.session_to_json(session, ctx.repo))


class UploadPartResource:
    @requires(Permission.WRITE, action="upload.part")
    @answers(413)
    def on_put(
        self, req: falcon.Request, resp: falcon.Response, repo: str, upload_id: str, n: str
    ) -> None:
        """Send part *n* (from 1) as the raw body; sending it again replaces it."""
        ctx = req.context
        number = _part_number(n)
        session = _session(req, upload_id)
        limit = sessions.part_limit(session, _limits(req))
        declared_length(req, limit, f"part {number}", PartTooLarge)
        part = sessions.write_part(
            ctx.db,
            _store(req),
            session,
            number,
            body_chunks(req, limit, f"part {number}", PartTooLarge),
        )
        send_json(resp, {"number": part.number, "size": part.size})


def _part_number(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidParts(f"part number {raw!r} is not a positive integer")
    return int(raw)


class UploadCompleteResource:
    @requires(Permission.WRITE, action="upload.commit")
    @answers(200)
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, repo: str, upload_id: str
    ) -> None:
        """Verify digest and size over the received parts and commit the blob.

        A mismatch answers 400 naming the expected and the actual value, and
        commits nothing.  Completing a committed session again answers the same.
        """
        ctx = req.context
        session = _session(req, upload_id)
        info = sessions.complete_session(
            ctx.db, ctx.caller, _store(req), ctx.repo, session, _limits(req)
        )
        doc = sessions.session_to_json(session, ctx.repo)
        send_json(resp, {**doc, "blob": blob_to_json(info)})


class BlobResource:
    @requires(Permission.READ)
    @answers(200, 206, 304, 307, 416)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, digest: str) -> None:
        """Download a blob the repository holds; single ranges and conditional requests."""
        _serve(req, resp, digest)

    @requires(Permission.READ)
    @answers(200, 206, 304, 416)
    def on_head(self, req: falcon.Request, resp: falcon.Response, repo: str, digest: str) -> None:
        """A blob's headers (size, ETag, ranges) without its bytes."""
        _serve(req, resp, digest)


def _serve(req: falcon.Request, resp: falcon.Response, raw_digest: str) -> None:
    ctx = req.context
    blob = find_linked_blob(ctx.db, ctx.repo, parse_digest(raw_digest))
    if is_withheld(ctx.db, ctx.repo.id, blob.digest):
        raise BlobNotFound(f"repository {ctx.repo.key!r} holds no downloadable blob {blob.digest}")
    presentation = Presentation(presign_ttl=ctx.services.settings.download_presign_ttl)
    send_blob(req, resp, _store(req), blob, presentation, ctx.services.handoff(blob.digest))
