"""``artifortress login --oidc``: the device authorization grant's shape (RFC 8628).

The CLI asks for a device code and a short user code (:func:`begin`), shows the person the
UI's device page and the user code, and polls (:func:`poll`).  The person, signed in to the UI
(through their IdP or otherwise), approves the code there (:func:`decide`).  The next poll
gets a new personal access token of that person, once; the device code is then spent.  No
secret is ever pasted: the token travels from the gateway to the CLI that asked for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from artifortress import changes
from artifortress.auth.models import User
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import TokenPolicy, issue_token
from artifortress.db.base import utcnow
from artifortress.errors import NotFound, ValidationFailed
from artifortress.identity.models import DeviceLogin

LIFETIME = dt.timedelta(minutes=10)
#: Seconds a CLI waits between polls (RFC 8628 ``interval``); faster polls get ``slow_down``.
INTERVAL = 2
#: User codes: 8 letters without vowels or look-alikes (RFC 8628 6.1), shown as XXXX-XXXX.
_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
#: What a poll may answer instead of a token (RFC 8628 3.5, RFC 6749 5.2).
POLL_ERRORS = (
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
    "invalid_grant",
)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalize_user_code(raw: str) -> str:
    """``bcdf-ghjk``, ``BCDFGHJK`` and ``BCDF GHJK`` are the same code: ``BCDF-GHJK``."""
    letters = "".join(c for c in raw.upper() if c.isalpha())
    if len(letters) != 8 or any(c not in _ALPHABET for c in letters):
        raise ValidationFailed("that is not a sign-in code (8 letters, as XXXX-XXXX)")
    return f"{letters[:4]}-{letters[4:]}"


@dataclass(frozen=True)
class Started:
    device_code: str
    user_code: str
    expires_in: int


def begin(db: Session, tenant_id: int, client_name: str) -> Started:
    """A new device login for the CLI: its device code (secret) and user code."""
    db.execute(delete(DeviceLogin).where(DeviceLogin.expires_at <= utcnow()))
    device_code = secrets.token_urlsafe(32)
    user_code = normalize_user_code("".join(secrets.choice(_ALPHABET) for _ in range(8)))
    db.add(
        DeviceLogin(
            tenant_id=tenant_id,
            device_code_sha256=_sha256(device_code),
            user_code=user_code,
            client_name=client_name,
            expires_at=utcnow() + LIFETIME,
        )
    )
    return Started(device_code, user_code, int(LIFETIME.total_seconds()))


def pending_by_user_code(db: Session, tenant_id: int, user_code: str) -> DeviceLogin:
    """The device login a person is about to approve: live and not decided yet."""
    row = db.scalars(
        select(DeviceLogin).where(
            DeviceLogin.tenant_id == tenant_id,
            DeviceLogin.user_code == normalize_user_code(user_code),
        )
    ).one_or_none()
    if row is None or row.expires_at <= utcnow() or row.user_id is not None or row.denied:
        raise NotFound("no sign-in is waiting for that code: it expired or was already used")
    return row


def decide(db: Session, caller: Caller, user_code: str, *, approve: bool) -> DeviceLogin:
    """The signed-in person approves (for themselves) or denies a waiting CLI (audited)."""
    row = pending_by_user_code(db, caller.principal.tenant_id, user_code)
    if approve:
        row.user_id = caller.principal.user_id
    else:
        row.denied = True
    verb = "approve" if approve else "deny"
    changes.of(db).audit(caller, f"oidc.device.{verb}", target=row.user_code)
    return row


@dataclass(frozen=True)
class Polled:
    """What a poll gets: an RFC 8628 ``error`` or the token."""

    error: str | None = None
    token: str | None = None
    expires_at: dt.datetime | None = None
    user: str | None = None


def poll(sessions: sessionmaker[Session], policy: TokenPolicy, device_code: str) -> Polled:
    """One poll of the CLI, in its own transaction (a pending poll is remembered, too)."""
    with sessions.begin() as db:
        row = db.scalars(
            select(DeviceLogin).where(DeviceLogin.device_code_sha256 == _sha256(device_code))
        ).one_or_none()
        if row is None or row.completed_at is not None:
            return Polled(error="invalid_grant")
        now = utcnow()
        if row.expires_at <= now:
            return Polled(error="expired_token")
        if row.denied:
            return Polled(error="access_denied")
        too_soon = row.last_poll_at is not None and now - row.last_poll_at < dt.timedelta(
            seconds=INTERVAL - 0.5
        )
        row.last_poll_at = now
        if row.user_id is None:
            return Polled(error="slow_down" if too_soon else "authorization_pending")
        return _hand_out_token(db, policy, row)


def _hand_out_token(db: Session, policy: TokenPolicy, row: DeviceLogin) -> Polled:
    user = db.get_one(User, row.user_id)
    if user.disabled_at is not None or user.deleted_at is not None:
        row.denied = True
        return Polled(error="access_denied")
    caller = Caller(
        Principal(tenant_id=user.tenant_id, user_id=user.id, name=user.name, is_admin=user.is_admin)
    )
    stamp = utcnow().strftime("%Y-%m-%d %H:%M")
    token, secret = issue_token(
        db, caller, user, policy, name=f"cli login {stamp} ({row.client_name})"[:100]
    )
    row.completed_at = utcnow()
    changes.of(db).audit(caller, "oidc.device.token", target=token.key_id, code=row.user_code)
    return Polled(token=secret, expires_at=token.expires_at, user=user.name)
