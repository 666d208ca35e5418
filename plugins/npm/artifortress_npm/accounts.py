"""npm's account endpoints mapped onto the core's personal access tokens.

``npm login`` (legacy CouchDB flow) takes the user name and, as password, a
valid personal access token of that user, and returns a new token; web login
answers 404 so npm falls back to that flow.  Like the core's ``/v1/tokens``,
managing tokens (log-in, ``npm token``) needs a full token: a read-only or
repository-scoped one gets 403, audited; ``npm logout`` may always revoke
the token it was using.
"""

from __future__ import annotations

import falcon

from artifortress.plugin import (
    BadRequest,
    Gateway,
    NotFound,
    TokenInfo,
    authenticated,
    public,
    read_json,
)

#: ``npm login``'s CouchDB user document; npm also sends _id, type, roles, date, email.
LOGIN_BODY = {
    "type": "object",
    "required": ["password"],
    "properties": {"name": {"type": "string"}, "password": {"type": "string"}},
}
#: ``npm token create``: the caller's token as password; cidr_whitelist is not supported.
TOKEN_BODY = {
    "type": "object",
    "required": ["password"],
    "properties": {"password": {"type": "string"}, "readonly": {"type": "boolean"}},
}


class LegacyLoginResource:
    @public(action="token.create")
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, user: str) -> None:
        """``npm login``: user name plus a personal access token as password -> a new token."""
        body = read_json(req, LOGIN_BODY)
        name, password = body.get("name", user), body["password"]
        if name != user:
            raise BadRequest("send the user name and a personal access token as password")
        gateway = Gateway(req)
        gateway.log_in(name, password)
        _info, secret = gateway.issue_token("npm login")
        resp.status = falcon.HTTP_201
        resp.media = {"ok": True, "id": f"org.couchdb.user:{name}", "token": secret}


class WebLoginResource:
    @public
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """Web login is not offered: a 404 makes npm fall back to the legacy prompts."""
        raise NotFound("web login is not supported; npm falls back to user name and token")


class WhoAmIResource:
    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm whoami``."""
        resp.media = {"username": Gateway(req).principal.name}


class LogoutResource:
    @authenticated(action="token.revoke")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, token: str) -> None:
        """``npm logout`` revokes the token it was using."""
        Gateway(req).revoke_token(token)
        resp.media = {"ok": True}


def _token_json(token: TokenInfo, secret: str | None = None) -> dict[str, object]:
    return {
        "token": secret or f"afpat_{token.id}_…",
        "key": token.id,
        "cidr_whitelist": None,
        "readonly": token.read_only,
        "automation": False,
        "created": token.created_at.isoformat(),
        "updated": token.created_at.isoformat(),
    }


class TokensResource:
    @authenticated(action="token.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm token list``: the caller's live tokens."""
        live = [t for t in Gateway(req).tokens() if not t.revoked]
        resp.media = {"objects": [_token_json(t) for t in live], "total": len(live), "urls": {}}

    @authenticated(action="token.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm token create``: the password is checked as a token of the caller."""
        gateway = Gateway(req)
        body = read_json(req, TOKEN_BODY)
        gateway.authenticate(gateway.principal.name, body["password"])
        info, secret = gateway.issue_token(
            "npm token create", read_only=body.get("readonly", False)
        )
        resp.status = falcon.HTTP_201
        resp.media = _token_json(info, secret)


class TokenResource:
    @authenticated(action="token.revoke")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, key: str) -> None:
        """``npm token revoke``."""
        Gateway(req).revoke_token(key)
        resp.status = falcon.HTTP_204
