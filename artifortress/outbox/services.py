"""Writing events in the caller's transaction, and the queue operations of the workers.

:func:`emit` only adds a row to the caller's session: the event commits with
the change it describes or not at all, and nothing runs until a worker picks
it up after commit.  The worker side uses short transactions of their own:
claim a batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
never take the same row), run the handlers outside any transaction, then
record the outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from artifortress.db.base import iso, utcnow
from artifortress.db.dialects import is_postgres
from artifortress.errors import BadRequest
from artifortress.outbox.events import Event
from artifortress.outbox.models import DEAD, DONE, EVENT_STATES, PENDING, OutboxEvent

#: Errors are cut to this many characters in the row (a traceback can be huge).
MAX_ERROR = 4000


def emit(
    db: Session,
    event_type: str,
    payload: dict[str, Any],
    *,
    tenant_id: int,
    repo_key: str | None = None,
) -> OutboxEvent:
    """Record *event_type* in the caller's transaction; workers see it once that commits."""
    event = OutboxEvent(**_row(event_type, payload, tenant_id, repo_key, utcnow()))
    db.add(event)
    return event


def emit_all(db: Session, events: Sequence[tuple[str, dict[str, Any], int, str | None]]) -> None:
    """Write (event type, payload, tenant id, repository key) events now, in one statement.

    For the unit of work's commit, as :func:`emit` would one by one.
    """
    if not events:
        return
    now = utcnow()
    rows = [
        _row(kind, payload, tenant_id, repo_key, now)
        for kind, payload, tenant_id, repo_key in events
    ]
    db.connection().execute(insert(OutboxEvent), rows)


def _row(
    event_type: str, payload: dict[str, Any], tenant_id: int, repo_key: str | None, now: dt.datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "event_type": event_type,
        "repo_key": repo_key,
        "payload": payload,
        "state": PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
        "completed": [],
    }


def to_event(row: OutboxEvent) -> Event:
    return Event(
        id=row.id,
        type=row.event_type,
        tenant_id=row.tenant_id,
        repo=row.repo_key,
        payload=dict(row.payload),
        created_at=row.created_at,
        attempt=row.attempts,
    )


# -- the worker's side ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Claimed:
    """An event a worker holds the lease of, with the handlers that already succeeded."""

    event: Event
    completed: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Due:
    """The events waiting to be claimed: when the first became due, when the last was made.

    The last event made, waiting or not: a burst still under way keeps it recent.
    """

    oldest: dt.datetime
    newest: dt.datetime


def due(db: Session) -> Due | None:
    """The events waiting to be claimed, or ``None``: the plain read that precedes a claim.

    An idle worker asks this on every poll in a read-only session, so it takes
    no write lock (SQLite) and locks no row (PostgreSQL); only an answer is
    followed by :func:`claim`.  An event committed just after it is found by
    the next poll.
    """
    # Two index probes, whatever the backlog: the first due (state, available_at)
    # and the last event made (the primary key).  The newest *due* event's
    # creation would read every due row, at each step of a worker draining them.
    oldest_due = select(func.min(OutboxEvent.available_at)).where(
        OutboxEvent.state == PENDING, OutboxEvent.available_at <= utcnow()
    )
    last_made = select(OutboxEvent.created_at).order_by(OutboxEvent.id.desc()).limit(1)
    query = select(oldest_due.scalar_subquery(), last_made.scalar_subquery())
    oldest, newest = cast(tuple[dt.datetime | None, dt.datetime | None], db.execute(query).one())
    if oldest is None or newest is None:  # no row: the aggregates of nothing
        return None
    return Due(oldest, newest)


def claim(
    db: Session, worker_id: str, *, limit: int, lease: float, max_attempts: int
) -> list[Claimed]:
    """Take up to *limit* due events for *lease* seconds; call in a short transaction.

    On PostgreSQL, ``SKIP LOCKED`` lets concurrent workers claim disjoint
    batches without waiting on each other.  An event already tried
    *max_attempts* times (its worker died each time) is dead-lettered here
    instead of being handed out again.
    """
    now = utcnow()
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.state == PENDING, OutboxEvent.available_at <= now)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if is_postgres(db):
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for row in db.scalars(stmt).all():
        if row.attempts >= max_attempts:
            _bury(row, now, row.last_error or "the worker stopped while handling it")
            continue
        row.attempts += 1
        row.available_at = now + dt.timedelta(seconds=lease)
        row.claimed_by = worker_id
        claimed.append(Claimed(to_event(row), frozenset(row.completed or ())))
    return claimed


def complete(db: Session, event_id: int, worker_id: str, completed: Sequence[str]) -> None:
    """Every handler succeeded: the event is done."""
    db.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.claimed_by == worker_id)
        .values(
            state=DONE,
            processed_at=utcnow(),
            completed=sorted(completed),
            claimed_by=None,
            last_error=None,
        )
    )


def fail(
    db: Session,
    event_id: int,
    worker_id: str,
    *,
    completed: Sequence[str],
    error: str,
    delay: float,
    max_attempts: int,
) -> str:
    """Some handler failed: retry after *delay*, or dead-letter; returns the new state."""
    row = db.scalars(
        select(OutboxEvent).where(OutboxEvent.id == event_id, OutboxEvent.claimed_by == worker_id)
    ).one_or_none()
    if row is None:  # the lease ran out and another worker took over; it decides
        return PENDING
    row.completed = sorted(completed)
    row.claimed_by = None
    if row.attempts >= max_attempts:
        _bury(row, utcnow(), error)
        return DEAD
    row.last_error = error[:MAX_ERROR]
    row.available_at = utcnow() + dt.timedelta(seconds=delay)
    return PENDING


def _bury(row: OutboxEvent, now: dt.datetime, error: str) -> None:
    row.state = DEAD
    row.processed_at = now
    row.claimed_by = None
    row.last_error = error[:MAX_ERROR]


def backoff(attempt: int, base: float, ceiling: float) -> float:
    """Exponential backoff with jitter: about *base* x 2^(attempt-1), at most *ceiling*."""
    delay = min(ceiling, base * 2 ** max(0, min(attempt - 1, 30)))
    # Jitter spreads the retries of many events that failed together (a receiver outage).
    return float(delay * random.uniform(0.8, 1.0))


def prune(db: Session, older_than: dt.datetime) -> int:
    """Delete handled events processed before *older_than*; dead ones stay for the admin."""
    result = db.execute(
        delete(OutboxEvent).where(OutboxEvent.state == DONE, OutboxEvent.processed_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclasses.dataclass(frozen=True)
class Backlog:
    """Pending events now: how many, the age of the oldest, the next due time."""

    pending: int
    dead: int
    oldest_pending_at: dt.datetime | None
    next_due_at: dt.datetime | None


def backlog(db: Session) -> Backlog:
    """The queue's state over every tenant (for ``/metrics`` and ``--drain``)."""
    pending, oldest, due = db.execute(
        select(
            func.count(OutboxEvent.id),
            func.min(OutboxEvent.created_at),
            func.min(OutboxEvent.available_at),
        ).where(OutboxEvent.state == PENDING)
    ).one()
    dead = db.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.state == DEAD))
    return Backlog(int(pending), int(dead or 0), _aware(oldest), _aware(due))


def _aware(value: Any) -> dt.datetime | None:
    """``min()`` over a UTC column loses the type's conversion on SQLite; restore it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


# -- the administrator's side ----------------------------------------------------------


def list_events(
    db: Session, tenant_id: int, *, state: str | None, before: int | None, limit: int
) -> list[OutboxEvent]:
    """The tenant's events, newest first, optionally in one state (``dead`` by default)."""
    stmt = select(OutboxEvent).where(OutboxEvent.tenant_id == tenant_id)
    if state is not None:
        if state not in EVENT_STATES:
            raise BadRequest(f"state must be one of {', '.join(EVENT_STATES)} or all")
        stmt = stmt.where(OutboxEvent.state == state)
    if before is not None:
        stmt = stmt.where(OutboxEvent.id < before)
    return list(db.scalars(stmt.order_by(OutboxEvent.id.desc()).limit(limit)))


def event_to_json(row: OutboxEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.event_type,
        "repo": row.repo_key,
        "payload": row.payload,
        "state": row.state,
        "attempts": row.attempts,
        "created_at": iso(row.created_at),
        "available_at": iso(row.available_at),
        "processed_at": iso(row.processed_at),
        "completed_handlers": row.completed,
        "last_error": row.last_error,
    }
