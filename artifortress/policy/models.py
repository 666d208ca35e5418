"""Per-repository policy settings and the quarantine register."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, JsonDoc, UtcDateTime, utcnow

PENDING = "pending"
RELEASED = "released"
REJECTED = "rejected"
QUARANTINE_STATES = (PENDING, RELEASED, REJECTED)


class RepositoryPolicy(Base):
    """The built-in policies' settings of one repository (absent: nothing enforced)."""

    __tablename__ = "repository_policies"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))


class QuarantineEntry(Base):
    """A version a policy held back at publish time, and what an administrator decided."""

    __tablename__ = "quarantine_entries"
    __table_args__ = (Index("ix_quarantine_entries_tenant_id_state", "tenant_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), unique=True)
    #: ``[{"policy": ..., "reason": ...}, ...]``
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JsonDoc, default=list)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The labels (npm dist-tags) the publish asked to point at the version: set on release,
    #: so a released version ends as if it had never been held.
    labels: Mapped[list[str] | None] = mapped_column(JsonDoc, nullable=True)
