"""``/v1/oidc/providers`` (admins) and ``/v1/oidc/device*`` (``artifortress login --oidc``)."""

from __future__ import annotations

import falcon

from artifortress.http.body import json_body, send_json
from artifortress.http.openapi import answers, responds
from artifortress.http.permissions import public, tenant_admin
from artifortress.identity import device
from artifortress.identity.providers import configured

DEVICE_START = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"client_name": {"type": "string", "minLength": 1, "maxLength": 60}},
}
DEVICE_POLL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["device_code"],
    "properties": {"device_code": {"type": "string", "minLength": 1, "maxLength": 128}},
}

#: A poll's refusals (RFC 8628 3.5), or the API's error object for a malformed body.
POLL_REFUSED = {
    "description": "not (yet) approved, or a malformed body",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/Error"},
                    {
                        "type": "object",
                        "required": ["error"],
                        "properties": {"error": {"enum": list(device.POLL_ERRORS)}},
                    },
                ]
            }
        }
    },
}


class ProvidersResource:
    @tenant_admin("oidc.provider.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The configured OpenID Connect providers (tenant admins); client secrets never."""
        raw = req.context.services.settings.oidc_providers
        send_json(resp, {"providers": [p.to_json() for p in configured(raw)]})


class DeviceResource:
    @public
    @answers(200)
    @json_body(DEVICE_START)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Start a CLI sign-in (RFC 8628 device authorization): codes and the page to open."""
        ctx = req.context
        started = device.begin(
            ctx.db, ctx.principal.tenant_id, ctx.body.get("client_name", "artifortress CLI")
        )
        base = (ctx.services.settings.public_url or req.prefix).rstrip("/")
        send_json(
            resp,
            {
                "device_code": started.device_code,
                "user_code": started.user_code,
                "verification_uri": f"{base}/ui/device",
                "verification_uri_complete": f"{base}/ui/device?user_code={started.user_code}",
                "expires_in": started.expires_in,
                "interval": device.INTERVAL,
            },
        )


class DeviceTokenResource:
    @public
    @answers(200)
    @responds({400: POLL_REFUSED})
    @json_body(DEVICE_POLL)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Poll a CLI sign-in: a new personal access token once approved, else an RFC 8628 error.

        400 ``authorization_pending`` (poll again after ``interval``), ``slow_down``,
        ``access_denied``, ``expired_token`` or ``invalid_grant`` (unknown or already used).
        """
        ctx = req.context
        polled = device.poll(
            ctx.services.sessions, ctx.services.token_policy, ctx.body["device_code"]
        )
        if polled.error is not None:
            send_json(resp, {"error": polled.error}, status=400)
            return
        assert polled.expires_at is not None
        send_json(
            resp,
            {
                "token": polled.token,
                "user": polled.user,
                "expires_at": polled.expires_at.isoformat(),
            },
        )
