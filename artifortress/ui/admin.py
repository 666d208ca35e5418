"""Administration pages (tenant administrators): quarantine review and the audit log."""

from __future__ import annotations

import datetime as dt

import falcon

from artifortress.audit import services as audit
from artifortress.errors import BadRequest, ValidationFailed
from artifortress.http.body import parse_timestamp
from artifortress.http.path_ids import path_id
from artifortress.http.permissions import tenant_admin
from artifortress.outbox import services as outbox
from artifortress.outbox.dead_letters import retry_dead
from artifortress.outbox.models import DEAD, EVENT_STATES
from artifortress.policy import services as policy
from artifortress.policy.models import PENDING, QUARANTINE_STATES
from artifortress.ui.view import view_of

AUDIT_PAGE = 50
QUARANTINE_PAGE = 100
OUTBOX_PAGE = 100
NOTICES = {
    "retried": "The event is queued again.",
    "released": "The version was released: it is published now.",
    "rejected": "The version was rejected; its number stays taken.",
}


class QuarantinePage:
    @tenant_admin("quarantine.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Versions held back by a policy, newest first, to release or reject."""
        view = view_of(req)
        state = req.get_param("state") or PENDING
        if state not in (*QUARANTINE_STATES, "all"):
            raise BadRequest(f"state must be one of {', '.join(QUARANTINE_STATES)} or all")
        rows = policy.list_entries(
            req.context.db,
            view.principal.tenant_id,
            state=None if state == "all" else state,
            repo_key=None,
            before=None,
            limit=QUARANTINE_PAGE,
        )
        notice = NOTICES.get(req.get_param("notice") or "")
        view.render(
            "quarantine.html", rows=rows, state=state, states=QUARANTINE_STATES, notice=notice
        )


class QuarantineRelease:
    @tenant_admin("quarantine.release")
    def on_post(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        """Release a held version: it is published from now on."""
        ctx = req.context
        policy.release(ctx.db, ctx.caller, path_id(entry_id, "quarantined version"))
        view_of(req).redirect("/ui/admin/quarantine?notice=released")


class QuarantineReject:
    @tenant_admin("quarantine.reject")
    def on_post(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        """Reject a held version for good, with a reason."""
        view = view_of(req)
        ctx = req.context
        reason = view.field("reason").strip()
        if not 1 <= len(reason) <= 1000:
            raise ValidationFailed("rejecting needs a reason of 1 to 1000 characters")
        policy.reject(ctx.db, ctx.caller, path_id(entry_id, "quarantined version"), reason)
        view.redirect("/ui/admin/quarantine?notice=rejected")


class OutboxPage:
    @tenant_admin("outbox.list")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Events whose handlers gave up (dead letters) and others, newest first, to retry."""
        view = view_of(req)
        state = req.get_param("state") or DEAD
        rows = outbox.list_events(
            req.context.db,
            view.principal.tenant_id,
            state=None if state == "all" else state,
            before=None,
            limit=OUTBOX_PAGE,
        )
        notice = NOTICES.get(req.get_param("notice") or "")
        view.render("outbox.html", rows=rows, state=state, states=EVENT_STATES, notice=notice)


class OutboxRetry:
    @tenant_admin("outbox.retry")
    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        """Queue a dead-lettered event again; handlers that succeeded before are skipped."""
        ctx = req.context
        retry_dead(ctx.db, ctx.caller, path_id(event_id, "event"))
        view_of(req).redirect("/ui/admin/outbox?notice=retried")


class AuditPage:
    @tenant_admin("audit.read")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The audit log, newest first, filtered by actor, action, repository, outcome, time."""
        view = view_of(req)
        filters = {name: (req.get_param(name) or "").strip()[:200] for name in _FILTERS}
        if filters["outcome"] not in ("", audit.SUCCESS, audit.DENIED):
            raise BadRequest(f"outcome is {audit.SUCCESS} or {audit.DENIED}")
        query = audit.AuditQuery(
            repo_key=filters["repo"] or None,
            actor=filters["actor"] or None,
            action=filters["action"] or None,
            outcome=filters["outcome"] or None,
            since=_time(filters["since"], "since"),
            until=_time(filters["until"], "until"),
            cursor=req.get_param("cursor") or None,
            limit=AUDIT_PAGE,
        )
        rows, cursor = audit.search(req.context.db, view.principal.tenant_id, query)
        more = {k: v for k, v in filters.items() if v}
        view.render("audit.html", rows=rows, filters=filters, cursor=cursor, more=more)


_FILTERS = ("actor", "action", "repo", "outcome", "since", "until")


def _time(raw: str, name: str) -> dt.datetime | None:
    """A ``datetime-local`` field (taken as UTC) or ISO 8601; 400 if it is neither."""
    if not raw:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise BadRequest(f"{name} is not a date and time (YYYY-MM-DDTHH:MM)") from None
