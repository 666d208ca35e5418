"""The remote cache's tables: upstream metadata kept for its TTL, and single-flight leases."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, UtcDateTime

#: Longest key stored as it is; longer ones are stored as their sha256 (see ``stored_key``).
KEY_LENGTH = 512


def stored_key(key: str) -> str:
    """*key* as stored: itself, or its sha256 when too long for the column."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class RemoteDocument(Base):
    """An upstream metadata document (index page, packument) as last fetched, or its 404."""

    __tablename__ = "remote_documents"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    #: The plugin's key for the document, by default its path under the upstream URL.
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    #: 200 (``body`` holds the document) or 404 (a short-lived negative entry).
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(255))
    #: The upstream's validators, sent back to revalidate (``If-None-Match``...).
    etag: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: When the body was fetched (a 304 keeps it), and when upstream last confirmed it.
    fetched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    checked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RemoteFetch(Base):
    """A lease: *owner* is fetching *key* for the repository until *expires_at* (or it dies)."""

    __tablename__ = "remote_fetches"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
