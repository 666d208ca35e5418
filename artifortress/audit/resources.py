"""The audit log: ``GET /v1/audit`` (tenant admins) and ``GET /v1/repos/{repo}/audit``."""

from __future__ import annotations

import falcon

from artifortress.audit import services
from artifortress.http.body import parse_timestamp, query_param, send_json
from artifortress.http.permissions import requires, tenant_admin
from artifortress.pagination import clamp_limit
from artifortress.rbac.permissions import Permission


def _outcome(raw: str) -> str:
    # A misspelt outcome would silently match nothing; say so instead.
    if raw not in (services.SUCCESS, services.DENIED):
        raise ValueError(raw)
    return raw


def _query(req: falcon.Request, repo_key: str | None) -> services.AuditQuery:
    return services.AuditQuery(
        repo_key=repo_key,
        actor=req.get_param("actor"),
        action=req.get_param("action"),
        outcome=query_param(req, "outcome", _outcome),
        since=query_param(req, "since", parse_timestamp),
        until=query_param(req, "until", parse_timestamp),
        cursor=req.get_param("cursor"),
        limit=clamp_limit(query_param(req, "limit", int)),
    )


def _send_page(req: falcon.Request, resp: falcon.Response, query: services.AuditQuery) -> None:
    ctx = req.context
    rows, cursor = services.search(ctx.db, ctx.principal.tenant_id, query)
    send_json(resp, {"entries": [services.to_json(e) for e in rows], "next_cursor": cursor})


class AuditResource:
    @tenant_admin("audit.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The tenant's audit log, newest first.

        Filters: ``repo``, ``actor``, ``action``, ``outcome`` (success|denied),
        ``since`` and ``until`` (ISO 8601); ``cursor`` and ``limit`` paginate.
        """
        _send_page(req, resp, _query(req, req.get_param("repo")))


class RepoAuditResource:
    @requires(Permission.ADMIN, action="audit.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """One repository's audit log (repository admins); same filters as ``/v1/audit``."""
        _send_page(req, resp, _query(req, repo))
