"""Registering and removing a repository's trusted publishers (repository admins).

Each publisher gets a service user of its own, bound ``write`` on the repository
only, and a token row whose secret is thrown away: minted tokens derive from that
row (:mod:`artifortress.auth.scoped`), so revoking it when the publisher is
deleted ends them all within the token cache's bound, on every process.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth import tokens
from artifortress.auth.models import Token, User
from artifortress.auth.principal import Caller, Principal
from artifortress.db.base import utcnow
from artifortress.errors import NotFound, ValidationFailed
from artifortress.identity.issuers import check_issuer_url
from artifortress.publishing.claims import PublisherSpec
from artifortress.publishing.models import TrustedPublisher
from artifortress.rbac.services import set_bindings
from artifortress.repos.kinds import HOSTED
from artifortress.repos.models import Repository

#: Service users' names start so; people's names cannot contain ``:``.
SERVICE_USER_PREFIX = "publisher:"
#: The token row of a publisher lives as long as the publisher (deleting it revokes the row).
_PARENT_LIFETIME = dt.timedelta(days=365 * 100)
#: What the publisher may do in its repository: upload and publish (and read what it wrote).
PUBLISHER_ROLE = "write"
MAX_PER_REPOSITORY = 50


def create_publisher(
    db: Session, caller: Caller, repo: Repository, spec: PublisherSpec
) -> TrustedPublisher:
    """Register *spec* on *repo* with its service user and token row; audited."""
    if repo.kind != HOSTED:  # its tokens could publish nowhere: say so now, not in CI
        raise ValidationFailed(
            f"{repo.key!r} is a {repo.kind} repository; trust publishers on a hosted one"
        )
    try:
        check_issuer_url(spec.issuer)
    except ValueError as exc:
        raise ValidationFailed(f"issuer: {exc}") from None
    if len(list_publishers(db, repo)) >= MAX_PER_REPOSITORY:
        raise ValidationFailed(f"a repository has at most {MAX_PER_REPOSITORY} publishers")
    user = _service_user(db, repo)
    set_bindings(db, caller, repo, user, [PUBLISHER_ROLE])
    publisher = TrustedPublisher(
        tenant_id=repo.tenant_id,
        repository_id=repo.id,
        kind=spec.kind,
        issuer=spec.issuer,
        constraints=dict(spec.constraints),
        user_id=user.id,
        token_id=_parent_token(db, user, repo).id,
        created_by=caller.principal.name,
    )
    db.add(publisher)
    db.flush()
    changes.of(db).audit(
        caller,
        "publisher.create",
        repo_key=repo.key,
        target=str(publisher.id),
        kind=spec.kind,
        issuer=spec.issuer,
        constraints=publisher.constraints,
        service_user=user.name,
    )
    return publisher


def _service_user(db: Session, repo: Repository) -> User:
    name = f"{SERVICE_USER_PREFIX}{repo.key[:40]}:{secrets.token_hex(4)}"
    user = User(tenant_id=repo.tenant_id, name=name, is_admin=False)
    db.add(user)
    db.flush()
    return user


def _parent_token(db: Session, user: User, repo: Repository) -> Token:
    _unused_secret, key_id, digest = tokens.new_token()  # nobody ever holds the secret
    now = utcnow()
    token = Token(
        key_id=key_id,
        secret_sha256=digest,
        user_id=user.id,
        tenant_id=user.tenant_id,
        name=f"trusted publisher of {repo.key}"[:100],
        read_only=False,
        repo_scopes=[repo.key],
        created_at=now,
        expires_at=now + _PARENT_LIFETIME,
    )
    db.add(token)
    db.flush()
    return token


def list_publishers(db: Session, repo: Repository) -> Sequence[TrustedPublisher]:
    return db.scalars(
        select(TrustedPublisher)
        .where(TrustedPublisher.repository_id == repo.id)
        .order_by(TrustedPublisher.id)
    ).all()


def get_publisher(db: Session, repo: Repository, publisher_id: int) -> TrustedPublisher:
    found = db.get(TrustedPublisher, publisher_id)
    if found is None or found.repository_id != repo.id:
        raise NotFound(f"no trusted publisher {publisher_id} on {repo.key!r}")
    return found


def delete_publisher(db: Session, caller: Caller, repo: Repository, publisher_id: int) -> str:
    """Remove a publisher: its token row is revoked, its service user retired; audited.

    Returns the key id of the revoked token row, for the caller to drop from its cache.
    """
    publisher = get_publisher(db, repo, publisher_id)
    token = db.get(Token, publisher.token_id)
    user = db.get(User, publisher.user_id)
    now = utcnow()
    if user is not None:
        set_bindings(db, caller, repo, user, [])
        user.disabled_at = user.deleted_at = now  # a tombstone: the name is never reused
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
    db.delete(publisher)
    changes.of(db).audit(caller, "publisher.delete", repo_key=repo.key, target=str(publisher_id))
    return token.key_id if token is not None else ""


def service_principal(db: Session, publisher: TrustedPublisher) -> Principal:
    """The principal minted tokens act as (its ``token_key_id`` is the parent token's)."""
    row = db.execute(
        select(User.name, Token.key_id)
        .join(Token, Token.user_id == User.id)
        .where(User.id == publisher.user_id, Token.id == publisher.token_id)
    ).one()
    return Principal(
        tenant_id=publisher.tenant_id,
        user_id=publisher.user_id,
        name=row.name,
        token_key_id=row.key_id,
    )


def publisher_to_json(publisher: TrustedPublisher, repo_key: str) -> dict[str, Any]:
    return {
        "id": publisher.id,
        "repository": repo_key,
        "kind": publisher.kind,
        "issuer": publisher.issuer,
        **(
            {"claims": publisher.constraints}
            if publisher.kind == "oidc"
            else dict(publisher.constraints)
        ),
        "created_at": publisher.created_at.isoformat(),
        "created_by": publisher.created_by,
    }
