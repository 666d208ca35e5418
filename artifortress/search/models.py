"""The search projection: one row per package with a published version.

The row describes the package's current version (its ``latest`` label, else
the newest publication).  It is derived data: the worker rewrites a row from
the truth tables whenever an event touches the package, and ``artifortress
reindex`` rebuilds all of them.  The full-text machinery beside it
(a ``tsvector`` column with a GIN index on PostgreSQL, an FTS5 table on
SQLite) is created by :mod:`artifortress.search.schema`, not mapped here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, UtcDateTime, utcnow


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (Index("ix_search_documents_repository_id", "repository_id"),)

    #: The package's id (no foreign key: the projection never blocks the truth).
    package_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(128))
    version_id: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Space-separated keywords.
    keywords: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    indexed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
