"""Declaring on each responder what it needs; checked before the responder runs.

``@requires(Permission.WRITE, action="...")`` resolves the ``{repo}`` URL
parameter, computes the caller's permissions on it and refuses otherwise:
401 for anonymous callers (so pip and uv retry with credentials), 403 for
authenticated callers without the permission.  A missing repository is 404
for authenticated callers and 401 for anonymous ones, so anonymous probing
cannot tell a private repository from a missing one.  Refused privileged
attempts (those with an ``action``) are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import falcon

from artifortress.audit import services as audit
from artifortress.errors import NotFound, PermissionDenied, Unauthenticated
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on
from artifortress.repos.services import find_repo

Responder = TypeVar("Responder", bound=Callable[..., Any])

#: Attribute naming what a responder requires, read by the OpenAPI builder and tests.
REQUIREMENT_ATTR = "__artifortress_requires__"

PUBLIC = "public"
AUTHENTICATED = "authenticated"
TENANT_ADMIN = "tenant-admin"


def _declare(requirement: str, hook: Callable[..., None]) -> Callable[[Responder], Responder]:
    def decorate(responder: Responder) -> Responder:
        wrapped = falcon.before(hook)(responder)
        setattr(wrapped, REQUIREMENT_ATTR, requirement)
        return wrapped

    return decorate


def public(responder: Responder) -> Responder:
    """Anyone may call this (health, metrics, OpenAPI)."""
    setattr(responder, REQUIREMENT_ATTR, PUBLIC)
    return responder


def authenticated(responder: Responder) -> Responder:
    """Any authenticated caller of the tenant."""

    def check(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        if req.context.principal.is_anonymous:
            raise Unauthenticated("this endpoint needs a token")

    return _declare(AUTHENTICATED, check)(responder)


def tenant_admin(action: str) -> Callable[[Responder], Responder]:
    """Tenant administrators only (through an unrestricted, writable token)."""

    def check(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        principal = req.context.principal
        if principal.is_anonymous:
            raise Unauthenticated("this endpoint needs an administrator's token")
        if not principal.is_tenant_admin:
            _deny(req, action, params.get("repo"), "only tenant administrators may do this")

    return _declare(TENANT_ADMIN, check)


def requires(permission: Permission, action: str | None = None) -> Callable[[Responder], Responder]:
    """The caller needs *permission* on the repository named by ``{repo}``."""

    def check(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        ctx = req.context
        key = params["repo"]
        principal = ctx.principal
        repo = find_repo(ctx.db, principal.tenant_id, key)
        if repo is None:
            if principal.is_anonymous:
                raise Unauthenticated(f"repository {key!r} needs credentials")
            raise NotFound(f"no repository {key!r}")
        granted = permissions_on(ctx.db, principal, repo)
        if permission not in granted:
            if principal.is_anonymous:
                raise Unauthenticated(f"repository {key!r} needs credentials")
            _deny(req, action, key, f"{permission} permission on {key!r} is required")
        ctx.repo = repo
        ctx.permissions = granted

    return _declare(str(permission), check)


def _deny(req: falcon.Request, action: str | None, repo_key: str | None, message: str) -> None:
    if action is not None:
        services = req.context.services
        audit.record_denied(services.sessions, req.context.caller, action, repo_key=repo_key)
    raise PermissionDenied(message)


def requirement_of(responder: Callable[..., Any]) -> str | None:
    """What a responder declared, or ``None`` if it declared nothing (a bug)."""
    # falcon's hooks use functools.wraps, which carries the attribute outwards.
    return getattr(responder, REQUIREMENT_ATTR, None)


__all__ = [
    "AUTHENTICATED",
    "PUBLIC",
    "TENANT_ADMIN",
    "authenticated",
    "public",
    "requirement_of",
    "requires",
    "tenant_admin",
]
