"""REST for trusted publishers (repository admins) and the token exchange (CI jobs).

``/_/oidc/audience`` and ``/_/oidc/mint-token`` answer as PyPI does, at the root of
the host, where ``pypa/gh-action-pypi-publish``, ``uv publish`` and other clients look
for them (they derive both URLs from the upload URL's host); ``/v1/oidc/token`` is
the same exchange for npm and curl, optionally naming the repository.
"""

from __future__ import annotations

import json
from typing import Any

import falcon

from artifortress.audit import services as audit
from artifortress.auth.principal import Caller
from artifortress.blobs.request_body import read_body
from artifortress.errors import ArtifortressError, ValidationFailed
from artifortress.http.body import json_body, send_json
from artifortress.http.openapi import answers
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import public, requires
from artifortress.publishing import services as publishers
from artifortress.publishing.claims import KINDS, spec_from_fields
from artifortress.publishing.exchange import (
    ACTION,
    Exchanger,
    ExchangeRefused,
    InvalidPayload,
    Minted,
    exchange,
)
from artifortress.rbac.permissions import Permission

_TEXT = {"type": "string", "minLength": 1, "maxLength": 255}
PUBLISHER_CREATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind"],
    "properties": {
        "kind": {"enum": list(KINDS)},
        "issuer": {"type": "string", "minLength": 1, "maxLength": 512},
        "repository": _TEXT,
        "project": _TEXT,
        "workflow": _TEXT,
        "environment": _TEXT,
        "ref": _TEXT,
        "claims": {
            "type": "object",
            "maxProperties": 20,
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 500},
        },
    },
}
TOKEN_EXCHANGE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "minLength": 1, "maxLength": 16384},
        "repository": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}


class TrustedPublishersResource:
    @requires(Permission.ADMIN, action="publisher.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The repository's trusted publishers."""
        rows = publishers.list_publishers(req.context.db, req.context.repo)
        send_json(resp, {"publishers": [publishers.publisher_to_json(p, repo) for p in rows]})

    @requires(Permission.ADMIN, action="publisher.create")
    @json_body(PUBLISHER_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Trust a CI identity to publish here without a stored secret.

        ``kind`` ``github``: ``repository`` (owner/name) and ``workflow`` (file under
        .github/workflows), optional ``environment`` and ``ref`` (a glob such as
        ``refs/tags/*``); ``gitlab``: ``project`` and ``workflow`` (CI file path), same
        options; ``oidc``: ``issuer`` and ``claims`` (claim name -> exact value). The
        issuer defaults to GitHub's or gitlab.com's.
        """
        ctx = req.context
        fields = {k: v for k, v in ctx.body.items() if k not in ("kind", "issuer")}
        try:
            spec = spec_from_fields(ctx.body["kind"], ctx.body.get("issuer"), fields)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        created = publishers.create_publisher(ctx.db, ctx.caller, ctx.repo, spec)
        resp.location = f"/v1/repos/{repo}/trusted-publishers/{created.id}"
        send_json(resp, publishers.publisher_to_json(created, repo), status=201)


class TrustedPublisherResource:
    @requires(Permission.ADMIN, action="publisher.read")
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, repo: str, publisher_id: str
    ) -> None:
        """One trusted publisher."""
        ctx = req.context
        found = publishers.get_publisher(ctx.db, ctx.repo, path_id(publisher_id, "publisher"))
        send_json(resp, publishers.publisher_to_json(found, repo))

    @requires(Permission.ADMIN, action="publisher.delete")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, publisher_id: str
    ) -> None:
        """Stop trusting a publisher: every token minted for it stops working at once."""
        ctx = req.context
        number = path_id(publisher_id, "publisher")
        revoked = publishers.delete_publisher(ctx.db, ctx.caller, ctx.repo, number)
        ctx.end_transaction()  # revoked for every process before this one forgets its cache
        ctx.services.authenticator.forget(revoked)
        send_json(resp, {"deleted": number})


class OidcTokenResource:
    @public
    @answers(200, 401, 403)  # 401: the ID token is refused; 403: no publisher it satisfies
    @json_body(TOKEN_EXCHANGE)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Exchange a CI job's OIDC ID token for a short-lived token that may publish.

        The token must carry the audience of ``GET /_/oidc/audience`` and satisfy a
        trusted publisher (of ``repository``, when named). The answer's ``token``
        works as any other (Bearer, Basic password, npm's ``_authToken``) until ``expires``.
        """
        body = req.context.body
        minted = _exchange(req, body["token"], body.get("repository"))
        send_json(resp, _minted_json(minted))


class AudienceResource:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The audience CI ID tokens must be requested for (PyPI's ``/_/oidc/audience``)."""
        send_json(resp, {"audience": req.context.services.settings.trusted_publishing_audience})


class MintTokenResource:
    @public
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """PyPI's ``/_/oidc/mint-token``: ``{"token": ID token}`` -> ``{"success", "token"}``.

        For the ``pypi`` repository whose publisher the token satisfies (PyPI's clients
        derive this URL from the upload URL's host, so it cannot name the repository).

        Refusals answer 422 ``{"message", "errors": [{"code", "description"}]}`` as
        PyPI does, which the publishing clients print.
        """
        req.context.error_renderer = render_mint_error
        minted = _exchange(req, _pypi_payload(req), format="pypi")
        send_json(resp, {"success": True, **_minted_json(minted)})


def _pypi_payload(req: falcon.Request) -> str:
    """The ``token`` of PyPI's request body; PyPI accepts no other layout."""
    raw = read_body(req, req.context.services.settings.max_json_body, "JSON body")
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidPayload('the body must be JSON: {"token": "<OIDC ID token>"}') from None
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise InvalidPayload('the body must be {"token": "<OIDC ID token>"}')
    token: str = body["token"]
    return token


def _exchange(
    req: falcon.Request,
    id_token: str,
    repository: str | None = None,
    format: str | None = None,
) -> Minted:
    """Run the exchange; a refusal is audited (in its own transaction) and raised."""
    ctx = req.context
    settings = ctx.services.settings
    exchanger = Exchanger(
        issuer_keys=ctx.services.issuer_keys,
        authenticator=ctx.services.authenticator,
        audience=settings.trusted_publishing_audience,
        ttl_seconds=int(settings.trusted_publishing_token_ttl),
    )
    caller: Caller = ctx.caller
    ctx.read_until_write()  # the issuer's keys may be fetched: hold no write lock meanwhile
    try:
        return exchange(
            ctx.db,
            exchanger,
            caller,
            id_token,
            repository=repository,
            format=format,
            begin_writing=ctx.begin_writing,
        )
    except ExchangeRefused as refused:
        ctx.db.rollback()  # on SQLite it would hold the write lock the audit row needs
        ctx.begin_writing()  # and the audit row's transaction begins as a writer
        audit.record_denied(
            ctx.services.sessions,
            caller,
            ACTION,
            repo_key=refused.repo_key or repository,
            reason=refused.message,
            claims=dict(refused.claims or {}),
        )
        raise


def _minted_json(minted: Minted) -> dict[str, Any]:
    return {
        "token": minted.token,
        "expires": minted.expires,
        "repository": minted.repository,
        "publisher": minted.publisher_id,
    }


def render_mint_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """PyPI's error shape: 422 for a refused exchange, the error's own status otherwise."""
    refused = isinstance(error, ExchangeRefused)
    resp.status = 422 if refused else error.status
    resp.content_type = falcon.MEDIA_JSON
    code = error.pypi_code if isinstance(error, ExchangeRefused) else error.code
    resp.text = json.dumps(
        {
            "message": "Token request failed",
            "errors": [{"code": code, "description": error.message}],
        }
    )
