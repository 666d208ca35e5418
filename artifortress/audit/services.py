"""Writing and reading the audit log.

Successful actions are recorded in the caller's transaction, so the audit row
commits or rolls back with the change it describes.  Denied attempts are
recorded in a transaction of their own, because the request's transaction is
rolled back when it fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from artifortress.audit.models import AuditEntry
from artifortress.auth.principal import Caller
from artifortress.db.base import utcnow
from artifortress.errors import BadRequest
from artifortress.pagination import decode_int_cursor, encode_cursor

SUCCESS = "success"
DENIED = "denied"


def record(
    db: Session,
    caller: Caller,
    action: str,
    *,
    repo_key: str | None = None,
    target: str | None = None,
    outcome: str = SUCCESS,
    **details: Any,
) -> None:
    """Add an audit row to the caller's current transaction."""
    db.add(AuditEntry(**_row(caller, action, repo_key, target, outcome, details)))


def record_all(db: Session, entries: Sequence[tuple[Caller, str, Mapping[str, Any]]]) -> None:
    """Write one audit row per (caller, action, details) now, in one statement.

    *details* as :func:`record` takes them (``repo_key``, ``target`` and
    ``outcome`` included). For the unit of work's commit: one insert for a
    change's rows, without building and flushing an object per row.
    """
    if not entries:
        return
    now = utcnow()
    rows = []
    for caller, action, details in entries:
        extra = dict(details)
        repo_key, target = extra.pop("repo_key", None), extra.pop("target", None)
        outcome = extra.pop("outcome", SUCCESS)
        rows.append({**_row(caller, action, repo_key, target, outcome, extra), "at": now})
    db.connection().execute(insert(AuditEntry), rows)


def _row(
    caller: Caller,
    action: str,
    repo_key: str | None,
    target: str | None,
    outcome: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "tenant_id": caller.principal.tenant_id,
        "actor": _clip("actor", caller.principal.name),
        "action": _clip("action", action),
        "repo_key": _clip("repo_key", repo_key),
        "target": _clip("target", target),
        "outcome": outcome,
        "request_id": _clip("request_id", caller.request_id),
        "client_addr": _clip("client_addr", caller.client_addr),
        "details": details,
    }


def _clip(column: str, value: str | None) -> str | None:
    """Cut *value* to its column's length.

    Refused attempts record what the caller sent (a 300-character repository
    key, a forwarded address), and PostgreSQL rejects overlong strings: the
    audit row must never turn a 403 into a 500.
    """
    length: int | None = getattr(AuditEntry.__table__.c[column].type, "length", None)
    if value is None or length is None or len(value) <= length:
        return value
    return value[: length - 1] + "\u2026"


def record_denied(
    sessions: sessionmaker[Session], caller: Caller, action: str, **kwargs: Any
) -> None:
    """Record a refused attempt in its own transaction (the request's rolls back)."""
    with sessions.begin() as db:
        record(db, caller, action, outcome=DENIED, **kwargs)


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    """Filters of ``GET /v1/audit``; all optional."""

    repo_key: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    cursor: str | None = None
    limit: int = 100


def search(
    db: Session, tenant_id: int, query: AuditQuery
) -> tuple[Sequence[AuditEntry], str | None]:
    """Newest first; returns the page and the cursor of the next page (or ``None``)."""
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    for column, value in (
        (AuditEntry.repo_key, query.repo_key),
        (AuditEntry.actor, query.actor),
        (AuditEntry.action, query.action),
        (AuditEntry.outcome, query.outcome),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since is not None:
        stmt = stmt.where(AuditEntry.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEntry.at < query.until)
    if query.cursor is not None:
        stmt = stmt.where(AuditEntry.id < _cursor_id(query.cursor))
    rows = db.scalars(stmt.order_by(AuditEntry.id.desc()).limit(query.limit + 1)).all()
    next_cursor = encode_cursor(rows[query.limit - 1].id) if len(rows) > query.limit else None
    return rows[: query.limit], next_cursor


def _cursor_id(cursor: str) -> int:
    # Ids are 64-bit; a larger number in a forged cursor would overflow the driver (500).
    last_id = decode_int_cursor(cursor)
    if not 0 < last_id < 2**63:
        raise BadRequest(f"cursor {cursor!r} is not one this API handed out")
    return last_id


def to_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "repo": entry.repo_key,
        "target": entry.target,
        "outcome": entry.outcome,
        "request_id": entry.request_id,
        "client_addr": entry.client_addr,
        "details": entry.details,
    }
