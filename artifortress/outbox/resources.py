"""``/v1/admin/outbox``: the tenant's events, and retrying dead-lettered ones (tenant admins)."""

from __future__ import annotations

import falcon

from artifortress.http.body import query_param, send_json
from artifortress.http.openapi import answers
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import tenant_admin
from artifortress.outbox import services as outbox
from artifortress.outbox.dead_letters import retry_dead
from artifortress.outbox.models import DEAD
from artifortress.pagination import clamp_limit


class OutboxResource:
    @tenant_admin("outbox.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Events of the tenant, newest first; ``state``: dead (default), pending, done or all."""
        ctx = req.context
        state = req.get_param("state") or DEAD
        rows = outbox.list_events(
            ctx.db,
            ctx.principal.tenant_id,
            state=None if state == "all" else state,
            before=query_param(req, "before", int),
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(resp, {"events": [outbox.event_to_json(row) for row in rows]})


class OutboxRetryResource:
    @tenant_admin("outbox.retry")
    @answers(200)
    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        """Queue a dead-lettered event again; handlers that succeeded before are skipped."""
        ctx = req.context
        row = retry_dead(ctx.db, ctx.caller, path_id(event_id, "event"))
        send_json(resp, outbox.event_to_json(row))
