"""The repository table, and what remote and virtual repositories add to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, JsonDoc, UtcDateTime, utcnow
from artifortress.repos.kinds import HOSTED

#: Metadata of a remote is refreshed from upstream after this long, unless configured.
DEFAULT_METADATA_TTL = 600


class Repository(Base):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(32))
    #: Anonymous callers may read a public repository.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: hosted (uploads land here), remote (a cache of an upstream) or virtual (a union).
    kind: Mapped[str] = mapped_column(String(16), default=HOSTED, server_default=HOSTED)


class RepositoryUpstream(Base):
    """Where a remote repository fetches from; the password is stored encrypted."""

    __tablename__ = "repository_upstreams"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Fernet token (artifortress.secretbox); never returned, never logged.
    password_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_ttl_seconds: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_METADATA_TTL, server_default=str(DEFAULT_METADATA_TTL)
    )


class RepositoryVirtual(Base):
    """Settings of a virtual repository beyond its members."""

    __tablename__ = "repository_virtuals"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    #: fnmatch patterns of package names whose remote versions merge despite a hosted claim.
    merge_patterns: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)


class VirtualMember(Base):
    """One member of a virtual repository, at its place in the order of lookup.

    A repository that is a member cannot be deleted (the foreign key refuses;
    the service answers 409 naming the virtual): remove it from the virtual first.
    """

    __tablename__ = "virtual_members"
    __table_args__ = (UniqueConstraint("virtual_id", "member_id"),)

    virtual_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), index=True)
