"""User accounts of a tenant."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from artifortress.audit import services as audit
from artifortress.auth.models import User
from artifortress.auth.principal import Caller, Principal
from artifortress.errors import Conflict, NotFound, ValidationFailed

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: Actor names the audit log uses for callers that are no user; a user with one
#: of these names would make their rows indistinguishable.
RESERVED_NAMES = frozenset({Principal(tenant_id=0).name, Principal.operator(0).name})


def check_user_name(name: str) -> str:
    if name.lower() in RESERVED_NAMES:
        raise ValidationFailed(f"user name {name!r} is reserved for the audit log's own actors")
    # fullmatch: with match, "$" also matches before a trailing newline ("bob\n").
    if not USER_NAME.fullmatch(name):
        raise ValidationFailed(
            f"user name {name!r} is invalid: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def find_user(db: Session, tenant_id: int, name: str) -> User | None:
    return db.scalars(
        select(User).where(User.tenant_id == tenant_id, User.name == name)
    ).one_or_none()


def get_user(db: Session, tenant_id: int, name: str) -> User:
    user = find_user(db, tenant_id, name)
    if user is None:
        raise NotFound(f"no user {name!r}; create it with POST /v1/users first")
    return user


def create_user(db: Session, caller: Caller, name: str, *, is_admin: bool = False) -> User:
    """Create a user in the caller's tenant (audited); 409 if the name is taken."""
    tenant_id = caller.principal.tenant_id
    if find_user(db, tenant_id, check_user_name(name)) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(tenant_id=tenant_id, name=name, is_admin=is_admin)
    db.add(user)
    db.flush()
    audit.record(db, caller, "user.create", target=name, admin=is_admin)
    return user


def ensure_user(db: Session, tenant_id: int, name: str, *, is_admin: bool) -> User:
    """Return the user, creating it (operator CLI path); upgrades to admin if asked."""
    user = find_user(db, tenant_id, check_user_name(name))
    if user is None:
        user = User(tenant_id=tenant_id, name=name, is_admin=is_admin)
        db.add(user)
        db.flush()
    elif is_admin and not user.is_admin:
        user.is_admin = True
    return user


def list_users(db: Session, tenant_id: int) -> Sequence[User]:
    return db.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.name)).all()


def user_to_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "admin": user.is_admin, "created_at": user.created_at.isoformat()}
