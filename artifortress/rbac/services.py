"""Authorization decisions and role-binding management (a user's roles and their groups')."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import CompoundSelect, bindparam, delete, select, union
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.models import User
from artifortress.auth.principal import Caller, Principal
from artifortress.errors import ValidationFailed
from artifortress.rbac.models import GroupMember, GroupRoleBinding, RoleBinding
from artifortress.rbac.permissions import ALL_PERMISSIONS, ROLE_GRANTS, ROLES, Permission
from artifortress.repos.models import Repository


class Guarded(Protocol):
    """What a decision reads of a repository: an entity or a ``repos.services.RepoRef``."""

    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def public(self) -> bool: ...


def permissions_on(db: Session, principal: Principal, repo: Guarded) -> frozenset[Permission]:
    """Everything *principal* may do on *repo*, after token restrictions."""
    if repo.tenant_id != principal.tenant_id or not principal.may_touch(repo.key):
        return frozenset()
    granted: set[Permission] = set()
    if principal.is_admin:
        granted |= ALL_PERMISSIONS
    elif principal.user_id is not None:
        for role in _roles_of(db, principal.user_id, repo.id):
            granted |= ROLE_GRANTS.get(role, frozenset())
    if repo.public:
        granted.add(Permission.READ)
    if principal.read_only:
        granted &= {Permission.READ}
    return frozenset(granted)


#: The groups a user is in; their bindings count as the user's own.
_GROUPS_OF = select(GroupMember.group_id).where(GroupMember.user_id == bindparam("user_id"))

#: Asked on most authorization decisions: built once (see repos.services).  The union
#: of the user's own roles and their groups' roles, read live (memberships are never
#: cached, so removing a member takes effect with the next request on every process).
_ROLES_OF = union(
    select(RoleBinding.role).where(
        RoleBinding.user_id == bindparam("user_id"),
        RoleBinding.repository_id == bindparam("repository_id"),
    ),
    select(GroupRoleBinding.role).where(
        GroupRoleBinding.group_id.in_(_GROUPS_OF),
        GroupRoleBinding.repository_id == bindparam("repository_id"),
    ),
)


def _roles_of(db: Session, user_id: int, repository_id: int) -> Sequence[str]:
    return db.scalars(_ROLES_OF, {"user_id": user_id, "repository_id": repository_id}).all()


#: Roles whose holders may read; ``promote`` alone does not let one read.
READ_ROLES = tuple(role for role, grants in ROLE_GRANTS.items() if Permission.READ in grants)


def readable_repo_ids(db: Session, principal: Principal) -> set[int] | None:
    """Ids of the repositories the principal's roles let it read (``None``: every one, for admins).

    Public repositories are readable on top of these; callers add them.
    """
    if principal.is_admin:
        return None
    if principal.user_id is None:
        return set()
    return set(db.scalars(readable_by_roles(principal.user_id)).all())


def readable_by_roles(user_id: int) -> CompoundSelect[int]:
    """The ids of the repositories a user reads through their own or their groups' roles.

    A subquery for SQL that narrows candidates (``IN``); the union is the same
    as :func:`permissions_on` grants.
    """
    groups_of = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    own = select(RoleBinding.repository_id).where(
        RoleBinding.user_id == user_id, RoleBinding.role.in_(READ_ROLES)
    )
    through_groups = select(GroupRoleBinding.repository_id).where(
        GroupRoleBinding.group_id.in_(groups_of), GroupRoleBinding.role.in_(READ_ROLES)
    )
    return union(own, through_groups)


def bindings_of(db: Session, repo: Repository) -> dict[str, list[str]]:
    """``{user name: [roles]}`` for one repository."""
    rows = db.execute(
        select(User.name, RoleBinding.role)
        .join(User, User.id == RoleBinding.user_id)
        .where(RoleBinding.repository_id == repo.id)
        .order_by(User.name, RoleBinding.role)
    ).all()
    return roles_by_name(rows)


def roles_by_name(rows: Iterable[Any]) -> dict[str, list[str]]:
    """``{name: [roles]}`` from (name, role) rows ordered by name and role."""
    result: dict[str, list[str]] = {}
    for name, role in rows:
        result.setdefault(name, []).append(role)
    return result


def checked_roles(roles: Iterable[str]) -> list[str]:
    """*roles* sorted and deduplicated; 400 naming any that is not a role."""
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in ROLES]
    if unknown:
        raise ValidationFailed(f"unknown roles {unknown}; roles are {', '.join(ROLES)}")
    return wanted


def set_bindings(
    db: Session, caller: Caller, repo: Repository, user: User, roles: Iterable[str]
) -> list[str]:
    """Replace *user*'s roles on *repo* (an empty list removes the binding); audited."""
    wanted = checked_roles(roles)
    db.execute(
        delete(RoleBinding).where(
            RoleBinding.repository_id == repo.id, RoleBinding.user_id == user.id
        )
    )
    db.add_all(RoleBinding(repository_id=repo.id, user_id=user.id, role=r) for r in wanted)
    changes.of(db).audit(caller, "binding.set", repo_key=repo.key, target=user.name, roles=wanted)
    return wanted
