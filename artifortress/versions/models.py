"""Packages, versions, artifacts and labels.

A version is a ``draft`` until it is published; publishing seals it.  Once
``published`` (or later ``tombstoned``), its identity and its artifacts are
immutable, and database triggers (migration 0003) refuse any change to them,
whatever code or console issues it.  Version rows are never deleted once
published, which is what keeps a version number or file name from ever being
reused in a repository.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from artifortress.db.base import Base, BigId, JsonDoc, UtcDateTime, utcnow

DRAFT = "draft"
PUBLISHED = "published"
TOMBSTONED = "tombstoned"
#: Sealed by a publish that a policy held back: invisible to clients until released.
QUARANTINED = "quarantined"
#: A quarantined version an administrator refused; its number stays taken.
REJECTED = "rejected"
STATES = (DRAFT, PUBLISHED, TOMBSTONED, QUARANTINED, REJECTED)


class Package(Base):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("repository_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), index=True)
    format: Mapped[str] = mapped_column(String(32))
    #: Normalized by the format plugin (e.g. PEP 503 for PyPI); unique per repository.
    name: Mapped[str] = mapped_column(String(255))
    #: The spelling of the first publish, for display.
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (
        # One live identity per (package, version); drafts may race for it and the
        # first to publish wins.  Rows leave this index never, so numbers are not reused.
        Index(
            "uq_versions_sealed_identity",
            "package_id",
            "version",
            unique=True,
            sqlite_where=text("state != 'draft'"),
            postgresql_where=text("state != 'draft'"),
        ),
        Index("ix_versions_repository_id_state", "repository_id", "state"),
        # Every "this version of that package" lookup, whatever its state filter
        # (the partial index above serves only queries that repeat its WHERE).
        Index("ix_versions_package_id_version", "package_id", "version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default=DRAFT)
    #: Format metadata of the version as a whole (summary, manifest, ...).
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDoc, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: When an unpublished draft is discarded by the reaper.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    deprecated: Mapped[str | None] = mapped_column(Text, nullable=True)
    tombstoned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    tombstoned_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Set when the tombstone passed its retention and its blobs became collectable.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Where a promoted version came from (``repo/package@version``).
    promoted_from: Mapped[str | None] = mapped_column(String(255), nullable=True)

    package: Mapped[Package] = relationship(lazy="joined")
    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="version",
        order_by="Artifact.filename",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("version_id", "filename"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), index=True)
    #: Indexed: "was this name ever used in the package?" must not read its whole history.
    filename: Mapped[str] = mapped_column(String(255), index=True)
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    #: Format metadata of this file (requires-python, core-metadata digest, ...).
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    version: Mapped[Version] = relationship(back_populates="artifacts")


class Label(Base):
    """A mutable name pointing at a published version (npm dist-tags)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("package_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
