"""Tables of the blob plane: blobs, which repository holds which, upload sessions.

``blobs`` says that verified bytes with that digest are in the store;
``repo_blobs`` says that a repository holds (may serve) a blob.  A digest
alone never grants access: downloads and the dedupe shortcut go through
``repo_blobs`` and the caller's permissions on the holding repository.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, UtcDateTime, utcnow

#: ``sha256:`` + 64 hex digits.
DIGEST_LENGTH = 71


class Blob(Base):
    """Verified bytes in the blob store (one row per digest, whatever holds them)."""

    __tablename__ = "blobs"

    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: Set by GC when nothing live references the blob; ingest of the same bytes
    #: clears it (see ``artifortress.gc.services``).
    condemned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Set once GC deleted the bytes; the row stays so old references remain valid.
    collected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def is_marked(self) -> bool:
        """Condemned or collected by GC: its bytes cannot be relied on."""
        return self.condemned_at is not None or self.collected_at is not None


class RepoBlob(Base):
    """A repository holds a blob: its readers may download it."""

    __tablename__ = "repo_blobs"
    __table_args__ = (UniqueConstraint("repository_id", "digest"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Indexed by the unique constraint, whose first column it is.
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    #: Indexed for the dedupe check ("who holds this digest?") and, later, GC.
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class UploadSession(Base):
    """A resumable upload into one repository, by one user, of announced bytes."""

    __tablename__ = "upload_sessions"
    __table_args__ = (Index("ix_upload_sessions_state_expires_at", "state", "expires_at"),)

    #: Random and unguessable; it is also the name of the session's parts in the store.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    size: Mapped[int] = mapped_column(BigInteger)
    #: open -> committed | aborted | failed | expired
    state: Mapped[str] = mapped_column(String(16), default="open")
    #: What the store needs to find the parts again (the S3 multipart upload id).
    backend_handle: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
