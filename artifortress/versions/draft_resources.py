"""REST for drafts: ``/v1/repos/{repo}/packages/versions/drafts/...``.

A draft collects files that reference committed blobs; publishing seals it
atomically (see :mod:`artifortress.versions.drafts`).
"""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.formats import normalize_name
from artifortress.http.body import json_body, send_json
from artifortress.http.openapi import answers
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import requires
from artifortress.rbac.permissions import Permission
from artifortress.versions import drafts, queries
from artifortress.versions.models import QUARANTINED, Version

DRAFT_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["package", "version"],
    "properties": {
        "package": {"type": "string", "minLength": 1, "maxLength": 214},
        "version": {"type": "string", "minLength": 1, "maxLength": 128},
        "metadata": {"type": "object"},
    },
}

ARTIFACT_ADD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["filename", "digest"],
    "properties": {
        "filename": {"type": "string", "minLength": 1, "maxLength": 255},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "size": {"type": "integer", "minimum": 0},
        "media_type": {"type": "string", "maxLength": 255},
        "metadata": {"type": "object"},
    },
}


def _draft(req: falcon.Request, draft_id: str) -> Version:
    """The open draft of the URL; an id that is not 1-18 digits names none (404)."""
    return drafts.get_draft(req.context.db, req.context.repo, path_id(draft_id, "draft"))


class DraftsResource:
    @requires(Permission.WRITE, action="draft.create")
    @json_body(DRAFT_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Open a draft version; add files to it, then publish it."""
        ctx = req.context
        body: dict[str, Any] = ctx.body
        draft = drafts.create_draft(
            ctx.db,
            ctx.caller,
            ctx.repo,
            package=normalize_name(ctx.services.plugins, ctx.repo.format, body["package"]),
            display_name=body["package"],
            version=body["version"],
            metadata=body.get("metadata"),
            ttl_seconds=ctx.services.settings.draft_ttl,
        )
        resp.location = f"/v1/repos/{repo}/packages/versions/drafts/{draft.id}"
        send_json(resp, queries.version_to_json(draft), status=201)


class DraftResource:
    @requires(Permission.WRITE)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: str) -> None:
        """One open draft with its files."""
        send_json(
            resp,
            queries.version_to_json(_draft(req, draft_id)),
        )

    @requires(Permission.WRITE, action="draft.discard")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: str
    ) -> None:
        """Discard an open draft."""
        ctx = req.context
        draft = _draft(req, draft_id)
        drafts.discard_draft(ctx.db, ctx.caller, ctx.repo, draft)
        send_json(resp, {"discarded": draft.id})


class DraftArtifactsResource:
    @requires(Permission.WRITE, action="draft.add_file")
    @json_body(ARTIFACT_ADD)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: str) -> None:
        """Add a file that references a blob committed in this repository."""
        ctx = req.context
        draft = _draft(req, draft_id)
        artifact = drafts.add_artifact(ctx.db, ctx.caller, draft, drafts.ArtifactInput(**ctx.body))
        send_json(resp, queries.artifact_to_json(artifact), status=201)


class DraftArtifactResource:
    @requires(Permission.WRITE, action="draft.remove_file")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: str, filename: str
    ) -> None:
        """Remove a file from an open draft."""
        ctx = req.context
        drafts.remove_artifact(ctx.db, ctx.caller, _draft(req, draft_id), filename)
        send_json(resp, {"removed": filename})


class PublishResource:
    @requires(Permission.WRITE, action="version.publish")
    @answers(200, 202)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, draft_id: str) -> None:
        """Publish a draft atomically; 409 if the version already exists.

        Repository policies judge it first: 403 (nothing published) when one
        rejects it, 202 with state ``quarantined`` when one holds it back.
        """
        ctx = req.context
        draft = _draft(req, draft_id)
        version = drafts.publish(ctx.db, ctx.caller, ctx.repo, draft, ctx.services.plugins)
        status = 202 if version.state == QUARANTINED else 200
        send_json(resp, queries.version_to_json(version), status=status)


def draft_routes(base: str) -> list[tuple[str, Any]]:
    """``(path, resource)`` of the draft routes under *base* (``.../packages``)."""
    drafts_base = f"{base}/versions/drafts/{{draft_id}}"
    return [
        (f"{base}/versions/drafts", DraftsResource()),
        (drafts_base, DraftResource()),
        (f"{drafts_base}/artifacts", DraftArtifactsResource()),
        (f"{drafts_base}/artifacts/{{filename:path}}", DraftArtifactResource()),
        (f"{drafts_base}/publish", PublishResource()),
    ]
