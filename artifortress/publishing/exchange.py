"""The exchange: a CI job's OIDC ID token in, a short-lived publish token out.

Only issuers an admin registered are ever contacted: the token's unverified ``iss``
picks the candidate publishers, and without one the token is refused before any
key is fetched. The token is then verified (signature, issuer, audience, expiry:
:class:`~artifortress.identity.id_tokens.IssuerKeys`), matched against each
candidate's claims, and its ``jti`` recorded so that a replay is refused on every node.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth import scoped
from artifortress.auth.models import Token
from artifortress.auth.principal import Caller
from artifortress.auth.services import Authenticator
from artifortress.db.base import utcnow
from artifortress.errors import (
    ArtifortressError,
    BadRequest,
    Conflict,
    PermissionDenied,
    Unauthenticated,
)
from artifortress.identity.id_tokens import InvalidIdToken, IssuerKeys, TokenRules
from artifortress.publishing.claims import (
    ClaimMismatch,
    PublisherSpec,
    audited_claims,
    check,
    publisher_identity,
)
from artifortress.publishing.models import TrustedPublisher, UsedIdToken
from artifortress.publishing.services import service_principal
from artifortress.repos.models import Repository

#: No ID token of a CI system comes near this; a bigger one is not parsed.
MAX_ID_TOKEN = 16 * 1024
ACTION = "publisher.exchange"
#: Seconds an ID token may still be valid for (GitHub's last minutes, GitLab's the job).
MAX_ID_TOKEN_LIFETIME = 24 * 3600


class ExchangeRefused(ArtifortressError):
    """Base of the exchange's refusals; carries what the refusal's audit row keeps."""

    #: PyPI's error code for the same refusal (``/_/oidc/mint-token`` answers it).
    pypi_code = "invalid-token"
    #: The verified claims, when the refusal came after verification.
    claims: Mapping[str, str] | None = None
    repo_key: str | None = None


class InvalidPayload(ExchangeRefused, BadRequest):
    code = "invalid_payload"
    pypi_code = "invalid-payload"


class InvalidToken(ExchangeRefused, Unauthenticated):
    code = "invalid_token"


class NoMatchingPublisher(ExchangeRefused, PermissionDenied):
    code = "invalid_publisher"
    pypi_code = "invalid-publisher"


class AmbiguousPublisher(ExchangeRefused, Conflict):
    code = "ambiguous_publisher"
    pypi_code = "invalid-publisher"


@dataclasses.dataclass(frozen=True)
class Exchanger:
    """What an exchange needs of the process: issuer keys, the token minter, the rules."""

    issuer_keys: IssuerKeys
    authenticator: Authenticator
    audience: str
    ttl_seconds: int
    #: Clock skew tolerated on the ID token's ``exp``/``iat``/``nbf``.
    leeway_seconds: int = 30


@dataclasses.dataclass(frozen=True)
class Minted:
    token: str
    #: Unix time the token stops working.
    expires: int
    repository: str
    publisher_id: int


def exchange(
    db: Session,
    exchanger: Exchanger,
    caller: Caller,
    id_token: str,
    *,
    repository: str | None = None,
    format: str | None = None,
    begin_writing: Callable[[], None] = lambda: None,
) -> Minted:
    """Mint a publish token for the one repository whose publisher *id_token* satisfies.

    *repository* or *format* (PyPI's clients exchange for a ``pypi`` repository) narrow
    the candidates. *begin_writing* is called once the token is verified, before the
    first write: verifying may fetch the issuer's keys, which no write lock should wait on.
    """
    issuer = _unverified_issuer(id_token)
    wanted = Where(caller.principal.tenant_id, issuer, repository, format)
    candidates = _candidates(db, wanted)
    try:
        claims = exchanger.issuer_keys.validate(
            id_token,
            TokenRules(
                issuer=issuer,
                audience=exchanger.audience,
                leeway_seconds=exchanger.leeway_seconds,
            ),
        )
    except InvalidIdToken as refused:
        raise InvalidToken(refused.reason) from None
    _check_lifetime(claims)
    publisher, repo = _matching(candidates, claims)
    publisher_id, repo_id = publisher.id, repo.id
    begin_writing()
    publisher, repo = _still_there(db, publisher_id, repo_id)
    _consume(db, issuer, claims, id_token)
    return _mint(db, exchanger, caller, publisher, repo, claims)


def _check_lifetime(claims: Mapping[str, Any]) -> None:
    """Refuse an ID token valid for longer than any CI system issues one.

    Its ``jti`` is kept until it expires (a later ``exp`` could not even be stored: a
    date past the year 9999 was a 500), and a token that long-lived is no CI job's.
    """
    if int(claims["exp"]) - time.time() > MAX_ID_TOKEN_LIFETIME:
        refused = InvalidToken("the ID token is valid for over a day; CI ID tokens last minutes")
        refused.claims = audited_claims(claims, None)
        raise refused


def _still_there(
    db: Session, publisher_id: int, repo_id: int
) -> tuple[TrustedPublisher, Repository]:
    """The matched publisher, read again in the write transaction (deleted meanwhile: refused).

    Its token row revoked (a tenant admin may revoke any token) is refused too: every token
    minted from it would be refused at its first use, after a seemingly good exchange.
    """
    row = db.execute(
        select(TrustedPublisher, Repository, Token.revoked_at)
        .join(Repository, Repository.id == TrustedPublisher.repository_id)
        .join(Token, Token.id == TrustedPublisher.token_id)
        .where(TrustedPublisher.id == publisher_id, Repository.id == repo_id)
    ).one_or_none()
    if row is None:
        raise NoMatchingPublisher("the matching trusted publisher was deleted meanwhile")
    if row[2] is not None:
        refused = NoMatchingPublisher(
            f"the token of trusted publisher {publisher_id} was revoked; "
            "an admin of the repository must register the publisher again"
        )
        refused.repo_key = row[1].key
        raise refused
    return row[0], row[1]


def _unverified_issuer(id_token: str) -> str:
    """The ``iss`` the token claims, read to pick candidates; nothing is trusted yet."""
    if not id_token or len(id_token) > MAX_ID_TOKEN:
        raise InvalidToken("the token is empty or too long to be an ID token")
    if not id_token.isascii():  # a JWT is base64url and dots; PyJWT cannot encode a surrogate
        raise InvalidToken("the token is not a well-formed JWT")
    try:
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("the token is not a well-formed JWT") from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidToken("the token names no issuer ('iss')")
    return issuer


@dataclasses.dataclass(frozen=True)
class Where:
    """Which publishers may answer: the tenant's, of the issuer, maybe one repository or format."""

    tenant_id: int
    issuer: str
    repository: str | None
    format: str | None

    def __str__(self) -> str:
        if self.repository is not None:
            return f" on repository {self.repository!r}"
        return f" on a {self.format} repository" if self.format is not None else ""


def _candidates(db: Session, where: Where) -> Sequence[tuple[TrustedPublisher, Repository]]:
    query = (
        select(TrustedPublisher, Repository)
        .join(Repository, Repository.id == TrustedPublisher.repository_id)
        .where(
            TrustedPublisher.tenant_id == where.tenant_id,
            TrustedPublisher.issuer == where.issuer,
        )
        .order_by(TrustedPublisher.id)
    )
    if where.repository is not None:
        query = query.where(Repository.key == where.repository)
    if where.format is not None:
        query = query.where(Repository.format == where.format)
    found = [(row[0], row[1]) for row in db.execute(query)]
    if not found:
        refused = NoMatchingPublisher(
            f"no trusted publisher for issuer {where.issuer!r} is registered{where}"
        )
        refused.repo_key = where.repository
        raise refused
    return found


def _matching(
    candidates: Sequence[tuple[TrustedPublisher, Repository]], claims: Mapping[str, Any]
) -> tuple[TrustedPublisher, Repository]:
    """The first publisher the claims satisfy; refused with each mismatch, or if ambiguous."""
    matched, mismatches = [], []
    for publisher, repo in candidates:
        try:
            check(_spec(publisher), claims)
        except ClaimMismatch as mismatch:
            # Not naming the publisher's repository: anyone can get an ID token of a public
            # issuer (GitHub's, for any audience), and must not learn which repositories
            # (private ones too) trust it. The id is enough for the repository's admin.
            mismatches.append(f"publisher {publisher.id}: {mismatch.reason}")
        else:
            matched.append((publisher, repo))
    repos = sorted({repo.key for _, repo in matched})
    if len(repos) > 1:
        refused: ExchangeRefused = AmbiguousPublisher(
            f"the token matches publishers of several repositories ({', '.join(repos)}); "
            "name one: POST /v1/oidc/token with 'repository'"
        )
    elif not matched:
        refused = NoMatchingPublisher("no trusted publisher matches: " + "; ".join(mismatches))
    else:
        return matched[0]
    refused.claims = audited_claims(claims, None)
    refused.repo_key = repos[0] if len(repos) == 1 else candidates[0][1].key
    raise refused


def _spec(publisher: TrustedPublisher) -> PublisherSpec:
    return PublisherSpec(publisher.kind, publisher.issuer, publisher.constraints)


def _consume(db: Session, issuer: str, claims: Mapping[str, Any], id_token: str) -> None:
    """Record the token as used; refused if it was (here or on another node)."""
    now = utcnow()
    jti = claims.get("jti")
    # A token without a `jti` is single-use all the same: the digest of what its signature
    # covers stands in for it. Not of the whole token: its signature can be spelled several
    # ways (base64url padding, which PyJWT accepts; an ECDSA signature's (r, n - s) twin).
    signed_part = id_token.rpartition(".")[0]
    identity = f"jti\0{jti}" if isinstance(jti, str) and jti else f"token\0{signed_part}"
    key = hashlib.sha256(f"{issuer}\0{identity}".encode()).hexdigest()
    db.execute(delete(UsedIdToken).where(UsedIdToken.expires_at < now))
    expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC) + dt.timedelta(minutes=5)
    try:
        with db.begin_nested():
            db.add(UsedIdToken(key=key, expires_at=expires))
    except IntegrityError:
        refused = InvalidToken("this ID token was already exchanged; each exchange needs a new one")
        refused.claims = audited_claims(claims, None)
        raise refused from None


def _mint(
    db: Session,
    exchanger: Exchanger,
    caller: Caller,
    publisher: TrustedPublisher,
    repo: Repository,
    claims: Mapping[str, Any],
) -> Minted:
    spec = _spec(publisher)
    identity = publisher_identity(spec, claims)
    principal = dataclasses.replace(service_principal(db, publisher), publisher=identity)
    # Read before minting: the token's own expiry is this or a second later, never earlier.
    expires = int(time.time()) + min(exchanger.ttl_seconds, scoped.MAX_TTL_SECONDS)
    token = exchanger.authenticator.issue_scoped(
        principal,
        [repo.key],
        read_only=False,
        ttl_seconds=exchanger.ttl_seconds,
        publisher=identity,
    )
    acting = Caller(principal, caller.request_id, caller.client_addr)
    changes.of(db).audit(
        acting,
        ACTION,
        repo_key=repo.key,
        target=str(publisher.id),
        claims=audited_claims(claims, spec),
        expires=expires,
    )
    return Minted(token, expires, repo.key, publisher.id)
