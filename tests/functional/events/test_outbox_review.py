"""Review of the worker's quiet period: its poll's read must not grow with the backlog.

``outbox.due`` read the newest ``created_at`` of every due event: with a
backlog (a worker down for a while, a bulk import) each step of the worker
read the whole backlog to claim ten of it, a drain costing the square of
its size.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.outbox import services as outbox
from artifortress.outbox.models import PENDING, OutboxEvent


def pend(services: Services, count: int) -> None:
    now = utcnow()
    row = {
        "tenant_id": services.default_tenant_id(),
        "event_type": "test.backlog",
        "payload": {},
        "state": PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
        "completed": [],
    }
    with services.sessions.begin() as db:
        db.execute(insert(OutboxEvent), [row] * count)


def steps_of_due(services: Services) -> int:
    """SQLite virtual-machine steps one ``outbox.due`` takes (counted every 10)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with services.sessions() as db:
        raw = db.connection().connection.dbapi_connection
        raw.set_progress_handler(count, 10)  # type: ignore[union-attr]
        try:
            assert outbox.due(db) is not None
        finally:
            raw.set_progress_handler(None, 10)  # type: ignore[union-attr]
    return steps[0]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # counts SQLite's VM steps
def test_the_due_read_does_not_grow_with_the_backlog(services: Services) -> None:
    pend(services, 10)
    few = steps_of_due(services)
    pend(services, 5000)
    many = steps_of_due(services)
    assert many <= few + 5, (few, many)
