"""Putting a dead-lettered event back in the queue (a tenant administrator's action).

Apart from the queue's workers in ``services`` because it is a change like
any other, audited through ``artifortress.changes``, which writes events
with ``services.emit``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.db.base import utcnow
from artifortress.errors import Conflict, NotFound
from artifortress.outbox.models import DEAD, PENDING, OutboxEvent


def retry_dead(db: Session, caller: Caller, event_id: int) -> OutboxEvent:
    """Put a dead-lettered event back in the queue with fresh attempts; audited."""
    row = db.get(OutboxEvent, event_id)
    if row is None or row.tenant_id != caller.principal.tenant_id:
        raise NotFound(f"no event {event_id}")
    if row.state != DEAD:
        raise Conflict(f"event {event_id} is {row.state}; only dead events can be retried")
    row.state = PENDING
    row.attempts = 0
    row.available_at = utcnow()
    row.processed_at = None
    changes.of(db).audit(
        caller,
        "outbox.retry",
        repo_key=row.repo_key,
        target=str(event_id),
        event_type=row.event_type,
    )
    return row
