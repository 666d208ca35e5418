"""Personal access tokens: issue, list, revoke, and authenticate a request."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import String, bindparam, cast, select, update
from sqlalchemy.orm import Session, sessionmaker

from artifortress import changes
from artifortress.auth import scoped, tokens
from artifortress.auth.models import Token, User
from artifortress.auth.principal import Caller, Principal
from artifortress.db.base import utcnow
from artifortress.db.engine import read_session
from artifortress.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from artifortress.secretbox import box_of

#: ``last_used_at`` is written at most this often per token and process, so
#: authenticating a request normally costs no database write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class TokenPolicy:
    default_ttl_days: int
    max_ttl_days: int


def issue_token(
    db: Session,
    caller: Caller,
    user: User,
    policy: TokenPolicy,
    *,
    name: str,
    ttl_days: int | None = None,
    read_only: bool = False,
    repo_scopes: list[str] | None = None,
) -> tuple[Token, str]:
    """Create a token for *user* and return it with its secret (shown only once).

    Only a full token creates tokens (see :func:`check_manages_tokens`), so
    a new token never grants more than the one that created it.
    """
    check_manages_tokens(caller.principal)
    if user.disabled_at is not None:  # it would not work: say so rather than hand it out
        raise Conflict(f"user {user.name!r} is disabled; enable them before creating tokens")
    ttl = policy.default_ttl_days if ttl_days is None else ttl_days
    if not 1 <= ttl <= policy.max_ttl_days:
        raise ValidationFailed(f"ttl_days must be between 1 and {policy.max_ttl_days}")
    repo_scopes = sorted(set(repo_scopes)) if repo_scopes is not None else None
    full_token, key_id, digest = tokens.new_token()
    now = utcnow()  # one instant, so expires_at - created_at is exactly the TTL shown
    token = Token(
        key_id=key_id,
        secret_sha256=digest,
        user_id=user.id,
        tenant_id=user.tenant_id,
        name=name,
        read_only=read_only,
        repo_scopes=repo_scopes,
        created_at=now,
        expires_at=now + dt.timedelta(days=ttl),
    )
    db.add(token)
    db.flush()
    changes.of(db).audit(
        caller,
        "token.create",
        target=key_id,
        user=user.name,
        ttl_days=ttl,
        read_only=read_only,
        repo_scopes=repo_scopes,
    )
    return token, full_token


def check_manages_tokens(principal: Principal) -> None:
    """Refuse token management (list, create, revoke) through a restricted token.

    A read-only or repository-scoped token is a credential handed to one job
    (a CI pipeline, a mirror); whoever finds it leaked must not see its owner's
    other tokens, revoke them, or mint a wider or longer-lived one.  Managing
    tokens needs a full token (or the operator's CLI).
    """
    if principal.read_only or principal.repo_scopes is not None:
        raise PermissionDenied(
            "managing tokens needs a token that is neither read-only nor limited to "
            "repositories; this one is " + ("read-only" if principal.read_only else "scoped")
        )
    if principal.credential_expires is not None:
        # A scoped token (afst_) lives minutes: it must not mint itself a token of months.
        raise PermissionDenied(
            "managing tokens needs a personal access token, not a short-lived scoped one"
        )


def list_tokens(db: Session, user_id: int) -> Sequence[Token]:
    return db.scalars(
        select(Token).where(Token.user_id == user_id).order_by(Token.created_at.desc())
    ).all()


def own_tokens(db: Session, principal: Principal) -> Sequence[Token]:
    """The caller's own tokens, newest first; needs a full token."""
    check_manages_tokens(principal)
    assert principal.user_id is not None, "the responders let only authenticated callers in"
    return list_tokens(db, principal.user_id)


def revoke_token(db: Session, caller: Caller, key_id: str) -> Token:
    """Revoke one of the caller's tokens (a tenant admin may revoke any in the tenant).

    Any token may revoke itself (``npm logout``; killing a leaked token is
    always allowed); revoking another one needs a full token, so a leaked
    restricted token cannot lock its owner out.
    """
    principal = caller.principal
    if principal.publisher is not None:
        # Its "own" token is the publisher's: a leaked minted token must not end the publisher.
        raise PermissionDenied(
            "a token minted for a trusted publisher revokes nothing; delete the publisher instead"
        )
    if key_id != principal.token_key_id:
        check_manages_tokens(principal)
    token = db.scalars(
        select(Token).where(Token.key_id == key_id, Token.tenant_id == principal.tenant_id)
    ).one_or_none()
    if token is None or (token.user_id != principal.user_id and not principal.is_tenant_admin):
        raise NotFound(f"no token {key_id!r} among yours")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        changes.of(db).audit(caller, "token.revoke", target=key_id, user=token.user.name)
    return token


def token_to_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.key_id,
        "name": token.name,
        "user": token.user.name,
        "read_only": token.read_only,
        "repos": token.repo_scopes,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


@dataclasses.dataclass(frozen=True)
class _CachedToken:
    secret_sha256: str
    expires_at: dt.datetime
    revoked: bool
    #: The token's user is disabled (or deleted): cached like revocation, so it
    #: takes effect on every process within the same bound.
    user_disabled: bool
    #: ``None`` for the stand-in of an id that names no token.
    principal: Principal | None
    token_id: int


#: What an unknown key id resolves to: a hash no secret produces in practice (a random
#: 256-bit value), compared like a real one so that both paths do the same work.
_UNKNOWN = _CachedToken(
    secret_sha256=secrets.token_hex(32),
    expires_at=dt.datetime.min.replace(tzinfo=dt.UTC),
    revoked=True,
    user_disabled=False,
    principal=None,
    token_id=0,
)

#: The columns authentication needs, read without building ORM objects, as one row
#: whether or not the id exists (outer joins from the probed id; NULLs when unknown):
#: building objects for a real id only, or fetching no row for an unknown one, took
#: measurably different times.
_PROBE = select(cast(bindparam("key_id"), String(16)).label("key_id")).subquery("probe")
_TOKEN_LOOKUP = (
    select(
        Token.id,
        Token.key_id,
        Token.secret_sha256,
        Token.tenant_id,
        Token.user_id,
        Token.read_only,
        Token.repo_scopes,
        Token.expires_at,
        Token.revoked_at,
        User.name,
        User.is_admin,
        User.disabled_at,
    )
    .select_from(_PROBE)
    .outerjoin(Token, Token.key_id == _PROBE.c.key_id)
    .outerjoin(User, User.id == Token.user_id)
)


def _narrowed(
    scope: frozenset[str] | None, narrower: frozenset[str] | None
) -> frozenset[str] | None:
    """The repositories both scopes allow (``None``: any)."""
    if scope is None or narrower is None:
        return narrower if scope is None else scope
    return scope & narrower


class Authenticator:
    """Resolve a token to a :class:`Principal`, with a short per-process cache.

    The cache keeps an entry for at most ``cache_seconds`` (capped at one
    second by the settings), which bounds how long a revoked token can keep
    working on another process.  The secret is checked on every request.
    """

    def __init__(self, sessions: sessionmaker[Session], cache_seconds: float) -> None:
        self._sessions = sessions
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, _CachedToken]] = {}
        self._last_used_written: dict[int, dt.datetime] = {}
        self._lock = threading.Lock()
        self._scoped_key: bytes | None = None

    def authenticate(self, raw_token: str) -> Principal:
        if scoped.is_scoped(raw_token):
            return self._authenticate_scoped(raw_token)
        parsed = tokens.parse_token(raw_token)
        if parsed is None:
            raise Unauthenticated("the credentials are not an Artifortress token")
        key_id, secret = parsed
        entry = self._lookup(key_id)
        # The secret is hashed and compared whether or not the id exists (an unknown
        # id's stand-in matches nothing), so timing cannot tell a real id from a made-up one.
        if not tokens.secret_matches(secret, entry.secret_sha256) or entry.principal is None:
            raise Unauthenticated("unknown token")
        return self._live(entry, entry.principal)

    def _live(self, entry: _CachedToken, principal: Principal) -> Principal:
        """*principal* if the token of *entry* is neither revoked nor expired, nor its user off."""
        now = utcnow()
        if entry.revoked:
            raise Unauthenticated("the token has been revoked")
        if entry.user_disabled:
            raise Unauthenticated(f"user {principal.name!r} is disabled")
        if entry.expires_at <= now:
            raise Unauthenticated("the token has expired; create a new one")
        self._note_use(entry.token_id, now)
        return principal

    def issue_scoped(
        self,
        principal: Principal,
        repos: Collection[str] | None,
        *,
        read_only: bool,
        ttl_seconds: int,
        publisher: Mapping[str, str] | None = None,
    ) -> str:
        """A short-lived token acting as *principal*, narrowed to *repos* (and read-only).

        Signed, not stored (:mod:`artifortress.auth.scoped`); it works as long as
        the token *principal* authenticated with does, and never grants more.
        *repos* ``None`` keeps the principal's own repository scope. *publisher*
        names the trusted publisher it is minted for (``Principal.publisher``).

        A token derived from a scoped one (a minted publisher token traded at the
        registry's ``/v2/_token``) keeps its publisher and dies with it: otherwise
        trading again before each expiry would keep a leaked minted token alive for
        ever, without the publisher its uploads are checked against.
        """
        if principal.repo_scopes is not None:
            repos = principal.repo_scopes & set(
                repos if repos is not None else principal.repo_scopes
            )
        claims = scoped.new_claims(
            principal.tenant_id,
            principal.token_key_id if not principal.is_anonymous else None,
            repos,
            read_only=read_only or principal.read_only,
            ttl_seconds=ttl_seconds,
            publisher=publisher if publisher is not None else principal.publisher,
            not_after=principal.credential_expires,
        )
        return scoped.mint(self._signing_key(), claims)

    def _authenticate_scoped(self, raw_token: str) -> Principal:
        claims = scoped.verify(self._signing_key(), raw_token)
        if claims is None:
            raise Unauthenticated("the token is invalid or has expired; ask for a new one")
        if claims.parent is None:
            return Principal(tenant_id=claims.tenant_id)  # anonymous, as without credentials
        entry = self._lookup(claims.parent)
        if entry.principal is None:
            raise Unauthenticated("unknown token")
        parent = entry.principal
        repos = _narrowed(parent.repo_scopes, claims.repos)
        narrowed = dataclasses.replace(
            parent,
            repo_scopes=repos,
            read_only=parent.read_only or claims.read_only,
            publisher=claims.publisher,
            credential_expires=claims.expires,
        )
        return self._live(entry, narrowed)

    def _signing_key(self) -> bytes:
        if self._scoped_key is None:
            with self._sessions() as db:  # no statement: the box travels with the session
                self._scoped_key = scoped.signing_key(box_of(db).secret())
        return self._scoped_key

    def forget(self, key_id: str) -> None:
        """Drop a cached lookup (called on revocation in this process)."""
        with self._lock:
            self._cache.pop(key_id, None)

    def forget_user(self, user_id: int) -> None:
        """Drop the cached lookups of every token of a user (disabled or deleted here)."""
        with self._lock:
            stale = [
                key_id
                for key_id, (_, entry) in self._cache.items()
                if entry.principal is not None and entry.principal.user_id == user_id
            ]
            for key_id in stale:
                del self._cache[key_id]

    def _lookup(self, key_id: str) -> _CachedToken:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        entry = self._load(key_id)
        if self._cache_seconds > 0:  # unknown ids are cached too: same cost either way
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key_id] = (now + self._cache_seconds, entry)
        return entry

    def _load(self, key_id: str) -> _CachedToken:
        # A read session: on SQLite, an upload's lookup would otherwise take the
        # write lock (its request writes) while only reading.
        with read_session(self._sessions) as db:
            row = db.execute(_TOKEN_LOOKUP, {"key_id": key_id}).one()
        if row.id is None:
            return _UNKNOWN
        principal = Principal(
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            name=row.name,
            is_admin=row.is_admin,
            token_key_id=row.key_id,
            read_only=row.read_only,
            repo_scopes=frozenset(row.repo_scopes) if row.repo_scopes is not None else None,
        )
        return _CachedToken(
            secret_sha256=row.secret_sha256,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            user_disabled=row.disabled_at is not None,
            principal=principal,
            token_id=row.id,
        )

    def _note_use(self, token_id: int, now: dt.datetime) -> None:
        with self._lock:
            last = self._last_used_written.get(token_id)
            if last is not None and now - last < LAST_USED_RESOLUTION:
                return
            self._last_used_written[token_id] = now
        with self._sessions.begin() as db:
            db.execute(update(Token).where(Token.id == token_id).values(last_used_at=now))
