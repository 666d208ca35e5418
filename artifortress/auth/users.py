"""User accounts of a tenant."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.models import Token, User
from artifortress.auth.principal import Caller, Principal
from artifortress.db.base import utcnow
from artifortress.errors import Conflict, NotFound, ValidationFailed
from artifortress.rbac.models import GroupMember, RoleBinding

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
    """The user named *name*, deleted ones included (their tombstones hold the name)."""
    return db.scalars(
        select(User).where(User.tenant_id == tenant_id, User.name == name)
    ).one_or_none()


def get_user(db: Session, tenant_id: int, name: str) -> User:
    """A live (possibly disabled) user; a deleted one is not found."""
    user = find_user(db, tenant_id, name)
    if user is None or user.deleted_at is not None:
        raise NotFound(f"no user {name!r}; create it with POST /v1/users first")
    return user


def _check_name_free(user: User | None, name: str) -> None:
    if user is None:
        return
    if user.deleted_at is not None:
        raise Conflict(
            f"user {name!r} was deleted; the name is not reused, so that audit rows "
            "naming it always mean that user: choose another name"
        )
    raise Conflict(f"user {name!r} already exists")


def create_user(db: Session, caller: Caller, name: str, *, is_admin: bool = False) -> User:
    """Create a user in the caller's tenant (audited); 409 if the name is or was taken."""
    tenant_id = caller.principal.tenant_id
    _check_name_free(find_user(db, tenant_id, check_user_name(name)), name)
    user = User(tenant_id=tenant_id, name=name, is_admin=is_admin)
    db.add(user)
    db.flush()
    changes.of(db).audit(caller, "user.create", target=name, admin=is_admin)
    return user


def ensure_user(db: Session, tenant_id: int, name: str, *, is_admin: bool) -> User:
    """Return the user, creating it (operator CLI path); upgrades to admin if asked."""
    user = find_user(db, tenant_id, check_user_name(name))
    if user is None:
        user = User(tenant_id=tenant_id, name=name, is_admin=is_admin)
        db.add(user)
        db.flush()
    elif user.deleted_at is not None:
        _check_name_free(user, name)
    elif is_admin and not user.is_admin:
        user.is_admin = True
    return user


def list_users(db: Session, tenant_id: int) -> Sequence[User]:
    """The tenant's users, disabled ones included, deleted ones not."""
    return db.scalars(
        select(User)
        .where(User.tenant_id == tenant_id, User.deleted_at.is_(None))
        .order_by(User.name)
    ).all()


def set_disabled(db: Session, caller: Caller, user: User, disabled: bool) -> User:
    """Disable or enable *user* (audited); a disabled user's tokens stop authenticating.

    Tokens are left as they are: enabling the user again brings back those
    neither revoked nor expired meanwhile.  The caller must also call
    ``Authenticator.forget_user`` so this process drops its cached lookups.
    """
    _check_not_self(caller, user, "disable" if disabled else "enable")
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
    elif not disabled:
        user.disabled_at = None
    changes.of(db).audit(caller, "user.disable" if disabled else "user.enable", target=user.name)
    return user


def delete_user(db: Session, caller: Caller, user: User) -> dict[str, int]:
    """Delete *user*: revoke their tokens, drop their bindings and memberships (audited).

    The row stays as a tombstone (``deleted_at``): audit rows name actors by
    name, so the name must never be given to someone else.  Returns what was
    removed, by kind.
    """
    _check_not_self(caller, user, "delete")
    now = utcnow()
    revoked = db.execute(
        update(Token)
        .where(Token.user_id == user.id, Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    bindings = db.execute(delete(RoleBinding).where(RoleBinding.user_id == user.id))
    memberships = db.execute(delete(GroupMember).where(GroupMember.user_id == user.id))
    user.deleted_at = now
    user.disabled_at = user.disabled_at or now
    user.is_admin = False
    removed = {
        "tokens_revoked": _count(revoked),
        "bindings_removed": _count(bindings),
        "memberships_removed": _count(memberships),
    }
    changes.of(db).audit(caller, "user.delete", target=user.name, removed=removed)
    return removed


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _check_not_self(caller: Caller, user: User, verb: str) -> None:
    """Refuse locking oneself out: another admin (or the operator's CLI) must do it."""
    if caller.principal.user_id == user.id:
        raise Conflict(f"you cannot {verb} your own user; ask another administrator")


def user_to_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "admin": user.is_admin,
        "disabled": user.disabled_at is not None,
        "created_at": user.created_at.isoformat(),
    }
