"""REST for a repository's webhooks and their delivery log (repository admins)."""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.http.body import json_body, query_param, send_json
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import requires
from artifortress.outbox.events import EVENT_TYPES
from artifortress.pagination import clamp_limit
from artifortress.rbac.permissions import Permission
from artifortress.webhooks import services as webhooks

WEBHOOK_CREATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        # The host is checked further (see webhooks.targets): public addresses only.
        "url": {"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]", "maxLength": 2048},
        "events": {
            "type": "array",
            "items": {"enum": [*EVENT_TYPES, webhooks.ALL_EVENTS]},
            "maxItems": 50,
        },
        "secret": {"type": "string", "minLength": 16, "maxLength": 255},
    },
}


class WebhooksResource:
    @requires(Permission.ADMIN, action="webhook.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The repository's webhook subscriptions (secrets are never shown)."""
        rows = webhooks.list_subscriptions(req.context.db, req.context.repo)
        send_json(resp, {"webhooks": [webhooks.subscription_to_json(s) for s in rows]})

    @requires(Permission.ADMIN, action="webhook.create")
    @json_body(WEBHOOK_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Subscribe an http(s) URL to events of this repository (all of them by default).

        Deliveries are signed with ``secret`` (HMAC-SHA256, header
        ``X-Artifortress-Signature-256``); without one, a secret is generated
        and shown in this answer only.
        """
        ctx = req.context
        subscription, generated = webhooks.create_subscription(
            ctx.db,
            ctx.caller,
            ctx.repo,
            url=ctx.body["url"],
            events=ctx.body.get("events", []),
            secret=ctx.body.get("secret"),
            allow_private=ctx.services.settings.webhook_allow_private,
        )
        resp.location = f"/v1/repos/{repo}/webhooks/{subscription.id}"
        send_json(resp, webhooks.subscription_to_json(subscription, generated), status=201)


class WebhookResource:
    @requires(Permission.ADMIN, action="webhook.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, hook_id: str) -> None:
        """One webhook subscription."""
        ctx = req.context
        found = webhooks.get_subscription(ctx.db, ctx.repo, path_id(hook_id, "webhook"))
        send_json(resp, webhooks.subscription_to_json(found))

    @requires(Permission.ADMIN, action="webhook.delete")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, hook_id: str
    ) -> None:
        """Remove a webhook subscription and its delivery log."""
        ctx = req.context
        webhooks.delete_subscription(ctx.db, ctx.caller, ctx.repo, path_id(hook_id, "webhook"))
        send_json(resp, {"deleted": int(hook_id)})


class WebhookDeliveriesResource:
    @requires(Permission.ADMIN, action="webhook.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, hook_id: str) -> None:
        """The delivery log of a webhook, newest first: state, attempts, last answer."""
        ctx = req.context
        found = webhooks.get_subscription(ctx.db, ctx.repo, path_id(hook_id, "webhook"))
        rows = webhooks.list_deliveries(
            ctx.db,
            found,
            before=query_param(req, "before", int),
            limit=clamp_limit(query_param(req, "limit", int)),
        )
        send_json(resp, {"deliveries": [webhooks.delivery_to_json(d) for d in rows]})
