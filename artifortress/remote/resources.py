"""REST: ``/v1/repos/{repo}/cache``, what a remote repository has cached, and purging it."""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.http.body import query_param, send_json
from artifortress.http.openapi import answers, responds
from artifortress.http.permissions import requires
from artifortress.pagination import clamp_limit
from artifortress.rbac.permissions import Permission
from artifortress.remote import cache

_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "description": "the document's path under the upstream URL"},
        "status": {"type": "integer", "description": "200, or 404 if the upstream has none"},
        "content_type": {"type": "string"},
        "size": {"type": "integer", "description": "bytes"},
        "fetched_at": {"type": "string", "format": "date-time"},
        "checked_at": {"type": "string", "format": "date-time"},
        "expired": {
            "type": "boolean",
            "description": "older than the TTL: the next request revalidates it upstream",
        },
    },
}
_REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "repository": {"type": "string"},
        "metadata_ttl": {"type": "integer", "description": "seconds"},
        "documents": {"type": "array", "items": _DOCUMENT_SCHEMA},
        "next_after": {
            "type": ["string", "null"],
            "description": "pass as ?after= for the next page of documents",
        },
        "files": {
            "type": "object",
            "description": "files fetched from upstream and published in the remote",
            "properties": {
                "versions": {"type": "integer"},
                "count": {"type": "integer"},
                "bytes": {"type": "integer"},
            },
        },
    },
}
_PURGED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "documents": {"type": "integer", "description": "metadata documents forgotten"},
        "versions": {
            "type": "integer",
            "description": "versions tombstoned (?files=true), fetched again on request",
        },
    },
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class RemoteCacheResource:
    @requires(Permission.ADMIN, action="remote.cache.read")
    @responds({200: _json("The remote's cached documents and files", _REPORT_SCHEMA)})
    @answers(409)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """What a remote repository has cached: metadata documents and file totals.

        Documents come by key, ``limit`` at a time (``?after=`` the last key
        of the previous page); 409 for a repository that is not remote.
        """
        ctx = req.context
        report = cache.cache_report(
            ctx.db,
            ctx.repo_ref,
            after=req.get_param("after") or None,
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(resp, report)

    @requires(Permission.ADMIN, action="remote.cache.purge")
    @responds({200: _json("What was purged", _PURGED_SCHEMA)})
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Purge a remote's cached metadata: the next request fetches it from upstream again.

        ``?files=true`` also tombstones the versions fetched from upstream;
        the garbage collector reclaims their bytes after the tombstone
        retention. The next request for such a file fetches it again: the
        same bytes as before restore its version, other bytes are a 502 and
        nothing is stored (an artifact's bytes never change).
        """
        ctx = req.context
        files = query_param(req, "files", _boolean) or False
        send_json(resp, cache.purge(ctx.db, ctx.caller, ctx.repo_ref, files=files))


def _boolean(raw: str) -> bool:
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValueError(raw)
