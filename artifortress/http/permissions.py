"""Declaring on each responder what it needs; checked before the responder runs.

``@requires(Permission.WRITE, action="...")`` resolves the ``{repo}`` URL
parameter, computes the caller's permissions on it and refuses otherwise:
401 for anonymous callers (so pip and uv retry with credentials), 403 for
authenticated callers without the permission.  A missing repository is 404
for authenticated callers and 401 for anonymous ones, so anonymous probing
cannot tell a private repository from a missing one.  Refused privileged
attempts (responders declared with an ``action``) are written to the audit
log, whether the decorator or the service below refused them (a 401 is not:
it asks for credentials, and there is no one to name); a responder needing
more than ``read`` is privileged even if it names no action, and its refusals
are audited as ``<format>.<permission>`` under a format's URLs (``npm.write``),
``request.<permission>`` elsewhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

import falcon

from artifortress.audit import services as audit
from artifortress.auth.principal import Principal
from artifortress.auth.tokens import parse_token
from artifortress.errors import NotFound, PermissionDenied, Unauthenticated
from artifortress.formats import format_at
from artifortress.http.body import reject_nul_params
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on
from artifortress.repos.kinds import refuse_by_kind, refuse_change_through
from artifortress.repos.services import lookup_repo
from artifortress.repos.views import RepoRef

Responder = TypeVar("Responder", bound=Callable[..., Any])

#: Attribute naming what a responder requires, read by the OpenAPI builder and tests.
REQUIREMENT_ATTR = "__artifortress_requires__"

PUBLIC = "public"
AUTHENTICATED = "authenticated"
TENANT_ADMIN = "tenant-admin"


#: The audit action of a refusal: named by the responder, or derived from the request.
Action = str | Callable[[falcon.Request], str]


def _declare(
    requirement: str, hook: Callable[..., None], action: Action | None = None
) -> Callable[[Responder], Responder]:
    def checked(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        reject_nul_params(req, params)
        hook(req, resp, resource, params)

    def decorate(responder: Responder) -> Responder:
        wrapped = falcon.before(checked)(responder)
        if action is not None:
            wrapped = _audit_refusals(wrapped, action)
        setattr(wrapped, REQUIREMENT_ATTR, requirement)
        return wrapped

    return decorate


def _audit_refusals(responder: Responder, action: Action) -> Responder:
    """Record a :class:`PermissionDenied` from the hook or the responder as a denied *action*."""

    @functools.wraps(responder)
    def call(resource: Any, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        try:
            responder(resource, req, resp, **params)
        except PermissionDenied as refused:
            named = action if isinstance(action, str) else action(req)
            _record_denied(req, named, params, refused.message)
            raise

    return call  # type: ignore[return-value]


def _derived_action(permission: Permission) -> Callable[[falcon.Request], str]:
    """``<format>.<permission>`` under a format's URLs, ``request.<permission>`` elsewhere."""

    def action(req: falcon.Request) -> str:
        spec = format_at(req.path.split("/", 2)[1], req.context.services.formats)
        owner = spec.name if spec is not None else "request"
        return f"{owner}.{permission}"

    return action


def _record_denied(req: falcon.Request, action: str, params: dict[str, Any], reason: str) -> None:
    ctx = req.context
    db = ctx.db_if_open
    if db is not None:
        # The request fails and rolls back anyway; ending its transaction now matters
        # on SQLite, where it holds the write lock the audit transaction needs.
        db.rollback()
    targets = [_audited(str(value)) for name, value in params.items() if name != "repo"]
    audit.record_denied(
        ctx.services.sessions,
        ctx.caller,
        action,
        repo_key=params.get("repo"),
        target=targets[-1] if targets else None,
        reason=reason,
    )


def _audited(url_value: str) -> str:
    """A URL value as the audit log may hold it: a token (``npm logout`` sends one) by its id."""
    parsed = parse_token(url_value)
    return parsed[0] if parsed is not None else url_value


@overload
def public(responder: Responder) -> Responder: ...


@overload
def public(*, action: str) -> Callable[[Responder], Responder]: ...


def public(
    responder: Responder | None = None, *, action: str | None = None
) -> Responder | Callable[[Responder], Responder]:
    """Anyone may call this (health, metrics, OpenAPI).

    With ``action``, the responder checks credentials of its own (``npm
    login`` takes a token as password) and its refusals are audited.
    """

    def decorate(wrapped: Responder) -> Responder:
        if action is not None:
            wrapped = _audit_refusals(wrapped, action)
        setattr(wrapped, REQUIREMENT_ATTR, PUBLIC)
        return wrapped

    return decorate if responder is None else decorate(responder)


def _check_authenticated(
    req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
) -> None:
    if req.context.principal.is_anonymous:
        raise Unauthenticated("this endpoint needs a token")


@overload
def authenticated(responder: Responder) -> Responder: ...


@overload
def authenticated(*, action: str) -> Callable[[Responder], Responder]: ...


def authenticated(
    responder: Responder | None = None, *, action: str | None = None
) -> Responder | Callable[[Responder], Responder]:
    """Any authenticated caller of the tenant.

    With ``action``, the responder is a privileged action whose refusals by the
    service (e.g. a read-only token asking for a writable one) are audited.
    """
    decorate = _declare(AUTHENTICATED, _check_authenticated, action)
    return decorate if responder is None else decorate(responder)


def tenant_admin(action: str) -> Callable[[Responder], Responder]:
    """Tenant administrators only (through an unrestricted, writable token)."""

    def check(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        principal = req.context.principal
        if principal.is_anonymous:
            raise Unauthenticated("this endpoint needs an administrator's token")
        if not principal.is_tenant_admin:
            raise PermissionDenied("only tenant administrators may do this")

    return _declare(TENANT_ADMIN, check, action)


def requires(
    permission: Permission, action: str | None = None, *, publishes: bool = False
) -> Callable[[Responder], Responder]:
    """The caller needs *permission* on the repository named by ``{repo}``.

    *action* names the privileged action in the audit log (``version.publish``).
    Refusals of a responder needing more than ``read`` are audited even
    without one, as ``<format>.<permission>`` (``helm.write``) under a
    format's URLs and ``request.<permission>`` elsewhere: a plugin that
    forgets to name its action must not leave refused writes out of the log.

    *publishes* declares a responder that receives a (large) body, checks it
    and stores it: the core then ends the authorization's transaction before
    the body streams in, runs the checks in reading transactions and begins
    the write transaction at the first change (ingest, publish, ...). Only
    such a responder passes a virtual repository with ``write`` (it sends the
    upload to ``upload_target()``): any other change there is 405.
    """

    def check(req: falcon.Request, resp: falcon.Response, resource: Any, params: Any) -> None:
        if publishes:
            # The authorization only reads: on SQLite it need not queue for the write
            # lock, which every concurrent upload takes in turn (a refusal's audit
            # row is written in a session of its own).
            req.context.read_until_write()
        req.context.repo_ref, req.context.permissions = authorize(req, params["repo"], permission)
        if permission != Permission.READ:
            _refuse_beyond_publishing(req, action, publishes)
        if permission == Permission.WRITE and not publishes:  # only uploads pass a virtual
            refuse_change_through(req.context.repo_ref.kind, req.context.repo_ref.key)
        if publishes:
            req.context.read_until_write()

    audited: Action | None = action
    if action is None and permission != Permission.READ:
        audited = _derived_action(permission)
    return _declare(str(permission), check, audited)


#: What a token minted for a trusted publisher may change: it uploads and publishes (issue 19:
#: "scoped to upload to that repository only"), so a compromised CI job adds versions but
#: cannot delete, yank or deprecate the releases there, nor move their labels (dist-tags).
PUBLISHING_ACTIONS = frozenset(
    {
        "upload.create",
        "upload.part",
        "upload.commit",
        "upload.abort",
        "draft.create",
        "draft.add_file",
        "draft.remove_file",
        "draft.discard",
        "version.publish",
        "blob.ingest",
    }
)


def _refuse_beyond_publishing(req: falcon.Request, action: str | None, publishes: bool) -> None:
    if req.context.principal.publisher is None or publishes or action in PUBLISHING_ACTIONS:
        return
    if action is None and req.method in ("GET", "HEAD"):
        return  # the state of its own upload session or draft
    raise PermissionDenied(
        "a token minted for a trusted publisher uploads and publishes only; "
        "deleting, yanking or labelling needs a person's token"
    )


def authorize(
    req: falcon.Request, key: str, permission: Permission
) -> tuple[RepoRef, frozenset[Permission]]:
    """Resolve repository *key*, check *permission* on it, return it with every grant.

    :func:`requires` uses it for the URL's ``{repo}``; a responder calls it
    directly for a second repository (e.g. the target of a promotion).
    What no one may do in a repository of its kind (upload to a remote) is 405.
    """
    ctx = req.context
    principal = ctx.principal
    kept = ctx.services.grants.reading(principal, key) if permission == Permission.READ else None
    repo, granted = kept if kept is not None else _decide(ctx, principal, key)
    if Permission.READ in granted:  # who may not read it learns nothing of its kind
        refuse_by_kind(repo.kind, key, permission)
    if permission not in granted:
        if principal.is_anonymous:
            raise Unauthenticated(f"repository {key!r} needs credentials")
        raise PermissionDenied(f"{permission} permission on {key!r} is required")
    return repo, granted


def _decide(ctx: Any, principal: Principal, key: str) -> tuple[RepoRef, frozenset[Permission]]:
    """Read the repository and the caller's grants on it (kept if they let it read)."""
    generation = ctx.services.grants.generation()
    repo = lookup_repo(ctx.db, principal.tenant_id, key)
    if repo is None:
        if principal.is_anonymous:
            raise Unauthenticated(f"repository {key!r} needs credentials")
        raise NotFound(f"no repository {key!r}")
    granted = permissions_on(ctx.db, principal, repo)
    ctx.services.grants.keep(principal, key, (repo, granted), generation)
    return repo, granted


def requirement_of(responder: Callable[..., Any]) -> str | None:
    """What a responder declared, or ``None`` if it declared nothing (a bug)."""
    # falcon's hooks use functools.wraps, which carries the attribute outwards.
    return getattr(responder, REQUIREMENT_ATTR, None)


__all__ = [
    "AUTHENTICATED",
    "PUBLIC",
    "TENANT_ADMIN",
    "authenticated",
    "authorize",
    "public",
    "requirement_of",
    "requires",
    "tenant_admin",
]
