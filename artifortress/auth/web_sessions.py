"""Browser sessions of the web UI: a personal access token exchanged for a cookie.

The cookie carries a random secret; the server keeps only its SHA-256 with the
token it was exchanged for.  A session lives at most :data:`SESSION_LIFETIME`
and never past its token: each request re-reads the token and its user, so a
session ends as soon as the token is revoked or expires, or the user is
disabled or deleted (their tokens are revoked).  The session acts with the
token's restrictions (read-only, repository scopes): the same RBAC as the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from artifortress import changes
from artifortress.auth.models import Token, User
from artifortress.auth.principal import Caller, Principal
from artifortress.db.base import Base, BigId, UtcDateTime, utcnow
from artifortress.errors import Unauthenticated

SESSION_LIFETIME = dt.timedelta(hours=12)
#: Characters of the cookie's secret that :func:`resolve` accepts (``token_urlsafe(32)``).
_SECRET_LENGTH = 43


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def sign_in(db: Session, caller: Caller) -> tuple[str, dt.datetime]:
    """Open a session for the token *caller* authenticated with: (cookie secret, expiry).

    The caller's token was checked as the API checks one (``Authenticator``);
    the sign-in is audited as its user.
    """
    principal = caller.principal
    if principal.token_key_id is None or principal.credential_expires is not None:
        # A scoped token (afst_: a registry token, one minted for a trusted publisher) is
        # narrower and shorter-lived than the row it derives from, which a session acts as.
        raise Unauthenticated(
            "a short-lived scoped token opens no session; sign in with a personal access token"
        )
    purge_expired(db)  # sign-ins are rare: they sweep what expired since
    token = db.scalars(select(Token).where(Token.key_id == principal.token_key_id)).one()
    secret = secrets.token_urlsafe(32)
    expires_at = min(utcnow() + SESSION_LIFETIME, token.expires_at)
    db.add(WebSession(secret_sha256=_digest(secret), token_id=token.id, expires_at=expires_at))
    db.flush()
    changes.of(db).audit(caller, "ui.sign_in", target=principal.token_key_id)
    return secret, expires_at


_RESOLVE = (
    select(WebSession.expires_at, Token, User)
    .join(Token, Token.id == WebSession.token_id)
    .join(User, User.id == Token.user_id)
)


def resolve(db: Session, secret: str) -> Principal | None:
    """The principal of a live session, or ``None`` (unknown, expired, token or user gone)."""
    if len(secret) != _SECRET_LENGTH:
        return None
    row = db.execute(_RESOLVE.where(WebSession.secret_sha256 == _digest(secret))).first()
    if row is None:
        return None
    expires_at, token, user = row
    now = utcnow()
    dead = (
        expires_at <= now
        or token.revoked_at is not None
        or token.expires_at <= now
        or user.disabled_at is not None
        or user.deleted_at is not None
    )
    if dead:
        return None
    return Principal(
        tenant_id=token.tenant_id,
        user_id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        token_key_id=token.key_id,
        read_only=token.read_only,
        repo_scopes=frozenset(token.repo_scopes) if token.repo_scopes is not None else None,
    )


def sign_out(db: Session, secret: str) -> None:
    """End the session of *secret* (nothing happens for an unknown one)."""
    db.execute(delete(WebSession).where(WebSession.secret_sha256 == _digest(secret)))


def purge_expired(db: Session) -> int:
    """Delete sessions past their expiry; how many."""
    result = db.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_token(secret: str) -> str:
    """The anti-forgery token of forms in the session (or pre-session) of *secret*.

    Derived from the cookie's secret, which another site can neither read
    (HttpOnly) nor guess: a forged form post cannot carry it.
    """
    return hmac.new(secret.encode(), b"artifortress-ui-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(secret), sent or "")
