"""``/v1/tokens`` and ``/v1/users``."""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.auth import services, users
from artifortress.errors import PermissionDenied
from artifortress.http.body import json_body, send_json
from artifortress.http.openapi import answers
from artifortress.http.permissions import authenticated, tenant_admin
from artifortress.repos.services import REPO_KEY

TOKEN_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "ttl_days": {
            "type": "integer",
            "minimum": 1,
            "description": "at most the server's limit (365 days by default; more is a 400)",
        },
        "read_only": {"type": "boolean"},
        "repos": {
            "type": "array",
            "items": {"type": "string", "pattern": REPO_KEY.pattern},
            "minItems": 1,
            "uniqueItems": True,
        },
        "user": {
            "type": "string",
            "pattern": users.USER_NAME.pattern,
            "description": "issue for another user (tenant admins)",
        },
    },
}

USER_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": users.USER_NAME.pattern},
        "admin": {"type": "boolean"},
    },
}


class TokensResource:
    """The caller's own personal access tokens."""

    @authenticated(action="token.list")
    @answers(403)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the caller's tokens (never their secrets); needs a full token."""
        rows = services.own_tokens(req.context.db, req.context.principal)
        send_json(resp, {"tokens": [services.token_to_json(t) for t in rows]})

    @authenticated(action="token.create")
    @json_body(TOKEN_CREATE)
    @answers(403, 404)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a token; the secret is in the answer this once and never again.

        Needs a full token: a read-only or repository-scoped one gets 403.
        """
        ctx = req.context
        body: dict[str, Any] = ctx.body
        owner = self._owner(req, body.get("user"))
        token, secret = services.issue_token(
            ctx.db,
            ctx.caller,
            owner,
            ctx.services.token_policy,
            name=body["name"],
            ttl_days=body.get("ttl_days"),
            read_only=body.get("read_only", False),
            repo_scopes=body.get("repos"),
        )
        send_json(resp, {**services.token_to_json(token), "token": secret}, status=201)

    @staticmethod
    def _owner(req: falcon.Request, user_name: str | None) -> Any:
        ctx = req.context
        principal = ctx.principal
        if user_name is None or user_name == principal.name:
            return users.get_user(ctx.db, principal.tenant_id, principal.name)
        if not principal.is_tenant_admin:
            raise PermissionDenied("only tenant administrators may create tokens for other users")
        return users.get_user(ctx.db, principal.tenant_id, user_name)


class TokenResource:
    @authenticated(action="token.revoke")
    @answers(403)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        """Revoke a token; it stops working on every process within one second.

        Any token may revoke itself; revoking another needs a full token.
        """
        ctx = req.context
        token = services.revoke_token(ctx.db, ctx.caller, token_id)
        ctx.services.authenticator.forget(token.key_id)
        send_json(resp, services.token_to_json(token))


class UsersResource:
    @tenant_admin("user.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's users."""
        rows = users.list_users(req.context.db, req.context.principal.tenant_id)
        send_json(resp, {"users": [users.user_to_json(u) for u in rows]})

    @tenant_admin("user.create")
    @json_body(USER_CREATE)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a user of the tenant (tenant admins)."""
        ctx = req.context
        user = users.create_user(
            ctx.db, ctx.caller, ctx.body["name"], is_admin=ctx.body.get("admin", False)
        )
        send_json(resp, users.user_to_json(user), status=201)


USER_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "required": ["disabled"],
    "properties": {
        "disabled": {
            "type": "boolean",
            "description": "true: none of the user's tokens authenticates (within one second "
            "on every process); false: their live tokens work again",
        },
    },
}


class UserResource:
    @tenant_admin("user.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, user: str) -> None:
        """One user of the tenant (tenant admins)."""
        ctx = req.context
        send_json(resp, users.user_to_json(users.get_user(ctx.db, ctx.principal.tenant_id, user)))

    @tenant_admin("user.update")
    @json_body(USER_PATCH)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, user: str) -> None:
        """Disable or enable a user (tenant admins; never oneself, 409).

        A disabled user's tokens stop working on every process within one
        second; enabling them again brings back the tokens neither revoked nor
        expired.  The user keeps their bindings and audit history.
        """
        ctx = req.context
        target = users.get_user(ctx.db, ctx.principal.tenant_id, user)
        users.set_disabled(ctx.db, ctx.caller, target, ctx.body["disabled"])
        ctx.services.authenticator.forget_user(target.id)
        send_json(resp, users.user_to_json(target))

    @tenant_admin("user.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, user: str) -> None:
        """Delete a user (tenant admins; never oneself, 409).

        Their tokens are revoked, their role bindings and group memberships
        removed; audit rows keep naming them.  The name stays taken: creating
        a user of that name again is a 409, so the audit trail never names two
        people alike.
        """
        ctx = req.context
        target = users.get_user(ctx.db, ctx.principal.tenant_id, user)
        removed = users.delete_user(ctx.db, ctx.caller, target)
        ctx.services.authenticator.forget_user(target.id)
        send_json(resp, {"name": target.name, "deleted": True, **removed})


class WhoAmIResource:
    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The caller's user name, tenant role, token restrictions and trusted publisher."""
        p = req.context.principal
        send_json(
            resp,
            {
                "user": p.name,
                "admin": p.is_tenant_admin,
                "token": p.token_key_id,
                "read_only": p.read_only,
                "repos": sorted(p.repo_scopes) if p.repo_scopes is not None else None,
                # A token minted for a trusted publisher: the CI identity it acts for.
                "publisher": dict(p.publisher) if p.publisher is not None else None,
            },
        )
