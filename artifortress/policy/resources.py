"""REST: a repository's policy settings, and the quarantine queue of the tenant."""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.errors import BadRequest
from artifortress.http.body import json_body, query_param, send_json
from artifortress.http.openapi import answers
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import requires, tenant_admin
from artifortress.pagination import clamp_limit
from artifortress.policy import services as policy
from artifortress.policy.models import PENDING, QUARANTINE_STATES
from artifortress.rbac.permissions import Permission

POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_artifact_size": {"type": ["integer", "null"], "minimum": 0},
        "allowed_licenses": {
            "type": ["array", "null"],
            "items": {"type": "string", "minLength": 1, "maxLength": 128},
            "maxItems": 200,
        },
        "blocked_name_patterns": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 214},
            "maxItems": 200,
        },
        "typosquat": {"type": "boolean"},
        "typosquat_distance": {"type": ["integer", "null"], "minimum": 0, "maximum": 3},
        "require_verified_provenance": {"type": "boolean"},
        "extra": {"type": "object", "description": "settings read by third-party policies"},
    },
}
REJECT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
}


class RepoPolicyResource:
    @requires(Permission.ADMIN, action="policy.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The repository's policy settings (unset ones are off)."""
        send_json(resp, policy.get_config(req.context.db, req.context.repo.id))

    @requires(Permission.ADMIN, action="policy.set")
    @json_body(POLICY_SCHEMA)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Replace the repository's policy settings; they apply to the next publish.

        ``max_artifact_size`` (bytes), ``allowed_licenses`` and
        ``blocked_name_patterns`` (shell patterns) reject; ``typosquat``
        quarantines new names close to existing ones; ``require_verified_provenance``
        rejects files without a verified attestation.
        """
        ctx = req.context
        send_json(resp, policy.set_config(ctx.db, ctx.caller, ctx.repo, ctx.body))


class QuarantineResource:
    @tenant_admin("quarantine.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Quarantined versions of the tenant, newest first (``state``: pending by default)."""
        ctx = req.context
        state = req.get_param("state") or PENDING
        if state not in (*QUARANTINE_STATES, "all"):
            raise BadRequest(f"state must be one of {', '.join(QUARANTINE_STATES)} or all")
        rows = policy.list_entries(
            ctx.db,
            ctx.principal.tenant_id,
            state=None if state == "all" else state,
            repo_key=req.get_param("repo") or None,
            before=query_param(req, "before", int),
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(resp, {"quarantine": [policy.entry_to_json(*row) for row in rows]})


class QuarantineReleaseResource:
    @tenant_admin("quarantine.release")
    @answers(200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, quarantine_id: str) -> None:
        """Release a quarantined version: it is published and visible from now on."""
        ctx = req.context
        decided = policy.release(ctx.db, ctx.caller, path_id(quarantine_id, "quarantined version"))
        send_json(resp, policy.entry_to_json(*decided))


class QuarantineRejectResource:
    @tenant_admin("quarantine.reject")
    @json_body(REJECT_SCHEMA)
    @answers(200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, quarantine_id: str) -> None:
        """Reject a quarantined version for good, with a reason; its number stays taken."""
        ctx = req.context
        decided = policy.reject(
            ctx.db, ctx.caller, path_id(quarantine_id, "quarantined version"), ctx.body["reason"]
        )
        send_json(resp, policy.entry_to_json(*decided))
