"""The outbox: one row per state change, written in the transaction of the change.

A row is ``pending`` until every event handler has run on it (``done``), or
until its handlers failed ``event_max_attempts`` times (``dead``, listed and
retried through ``/v1/admin/outbox``).  ``available_at`` is when a worker may
next claim it: now for a new event, later after a failure (backoff) and while
a worker holds it (the lease), so a worker that dies mid-handler only delays it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, JsonDoc, UtcDateTime, utcnow

PENDING = "pending"
DONE = "done"
DEAD = "dead"
EVENT_STATES = (PENDING, DONE, DEAD)


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_state_available_at", "state", "available_at"),
        Index("ix_outbox_events_tenant_id_state", "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    #: Dotted and in the past tense: ``version.published``, ``repository.deleted``.
    event_type: Mapped[str] = mapped_column(String(64))
    repo_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Names of the handlers (plugins) that already succeeded; a retry skips them.
    completed: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    #: The worker holding the lease, while one does.
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
