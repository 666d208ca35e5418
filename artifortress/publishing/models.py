"""Trusted publishers of a repository and the ID tokens already exchanged (replay guard)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, JsonDoc, UtcDateTime, utcnow


class TrustedPublisher(Base):
    """A CI identity (issuer + required claims) that may publish to one repository.

    Minted tokens act as the publisher's own service user (bound ``write`` on the
    repository) through ``token_id``, a token row whose secret nobody holds: deleting
    the publisher revokes that row, which ends every token minted for it.
    """

    __tablename__ = "trusted_publishers"
    __table_args__ = (Index("ix_trusted_publishers_tenant_id_issuer", "tenant_id", "issuer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str] = mapped_column(String(512))
    #: ``github``/``gitlab``: repository/project, workflow, environment, ref; ``oidc``: claims.
    constraints: Mapped[dict[str, str]] = mapped_column(JsonDoc)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class UsedIdToken(Base):
    """An ID token exchanged once: its ``jti`` (or digest) is refused until it expires.

    In the database, not in a process, so a replay to another node is refused too.
    """

    __tablename__ = "used_id_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of issuer and ``jti`` (of the token's signed part when it has no ``jti``).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
