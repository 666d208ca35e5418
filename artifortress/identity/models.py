"""Tables of the identity plane: external identities, pending sign-ins, device logins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from artifortress.db.base import Base, BigId, UtcDateTime, utcnow


class ExternalIdentity(Base):
    """An IdP's person (issuer + subject) linked to one user.

    The link, not the username claim, says who signs in: a person renamed at the IdP keeps
    their account, and someone given a freed name there cannot take another's.
    """

    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("tenant_id", "issuer", "subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PendingSignIn(Base):
    """An authorization request sent to an IdP, waiting for its callback (minutes at most).

    Found by the SHA-256 of ``state``; bound to the browser that started it by the SHA-256
    of a cookie, so a callback URL carried to another browser signs no one in there.
    """

    __tablename__ = "oidc_pending_sign_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    browser_sha256: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_page: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    #: Set when a signed-in user links this provider to their account (not a sign-in).
    link_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )


class DeviceLogin(Base):
    """``artifortress login --oidc``: a CLI waiting for a person to approve it (RFC 8628).

    The CLI holds the device code (only its SHA-256 is kept); the person types or follows the
    short user code on the UI's device page while signed in, which sets ``user_id``.
    """

    __tablename__ = "oidc_device_logins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    device_code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_poll_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    denied: Mapped[bool] = mapped_column(default=False)
    #: Set when the CLI collected its token: a device code gives one token, once.
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
