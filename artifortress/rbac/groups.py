"""Groups (teams) of users: members, and roles bound to a group on repositories.

A member holds the union of their own roles and those of their groups (see
``rbac.services.permissions_on``).  Memberships and group bindings are read
from the database on every decision, not cached, so a removal takes effect on
every process with the next request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.models import User
from artifortress.auth.principal import Caller
from artifortress.errors import Conflict, NotFound, ValidationFailed
from artifortress.rbac.models import Group, GroupMember, GroupRoleBinding
from artifortress.rbac.services import checked_roles, roles_by_name
from artifortress.repos.models import Repository

GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_group_name(name: str) -> str:
    # fullmatch: with match, "$" also matches before a trailing newline.
    if not GROUP_NAME.fullmatch(name):
        raise ValidationFailed(
            f"group name {name!r} is invalid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def find_group(db: Session, tenant_id: int, name: str) -> Group | None:
    return db.scalars(
        select(Group).where(Group.tenant_id == tenant_id, Group.name == name)
    ).one_or_none()


def get_group(db: Session, tenant_id: int, name: str) -> Group:
    group = find_group(db, tenant_id, name)
    if group is None:
        raise NotFound(f"no group {name!r}; create it with POST /v1/groups first")
    return group


def create_group(db: Session, caller: Caller, name: str) -> Group:
    """Create a group in the caller's tenant (audited); 409 if the name is taken."""
    tenant_id = caller.principal.tenant_id
    if find_group(db, tenant_id, check_group_name(name)) is not None:
        raise Conflict(f"group {name!r} already exists")
    group = Group(tenant_id=tenant_id, name=name)
    db.add(group)
    db.flush()
    changes.of(db).audit(caller, "group.create", target=name)
    return group


def delete_group(db: Session, caller: Caller, group: Group) -> None:
    """Delete a group with its memberships and bindings (audited): its members lose its roles."""
    db.execute(delete(GroupRoleBinding).where(GroupRoleBinding.group_id == group.id))
    db.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    db.delete(group)
    changes.of(db).audit(caller, "group.delete", target=group.name)


def list_groups(db: Session, tenant_id: int) -> Sequence[Group]:
    return db.scalars(select(Group).where(Group.tenant_id == tenant_id).order_by(Group.name)).all()


def members_of(db: Session, group: Group) -> list[str]:
    return list(
        db.scalars(
            select(User.name)
            .join(GroupMember, GroupMember.user_id == User.id)
            .where(GroupMember.group_id == group.id)
            .order_by(User.name)
        ).all()
    )


def _membership(db: Session, group: Group, user: User) -> GroupMember | None:
    return db.get(GroupMember, (group.id, user.id))


def add_member(db: Session, caller: Caller, group: Group, user: User) -> None:
    """Add *user* to *group* (audited); adding a member again changes nothing."""
    if _membership(db, group, user) is None:
        db.add(GroupMember(group_id=group.id, user_id=user.id))
    changes.of(db).audit(caller, "group.member.add", target=group.name, user=user.name)


def remove_member(db: Session, caller: Caller, group: Group, user: User) -> None:
    """Remove *user* from *group* (audited); 404 if they are no member."""
    membership = _membership(db, group, user)
    if membership is None:
        raise NotFound(f"user {user.name!r} is no member of group {group.name!r}")
    db.delete(membership)
    changes.of(db).audit(caller, "group.member.remove", target=group.name, user=user.name)


def group_to_json(db: Session, group: Group) -> dict[str, Any]:
    return {
        "name": group.name,
        "members": members_of(db, group),
        "created_at": group.created_at.isoformat(),
    }


def group_bindings_of(db: Session, repo: Repository) -> dict[str, list[str]]:
    """``{group name: [roles]}`` for one repository."""
    rows = db.execute(
        select(Group.name, GroupRoleBinding.role)
        .join(Group, Group.id == GroupRoleBinding.group_id)
        .where(GroupRoleBinding.repository_id == repo.id)
        .order_by(Group.name, GroupRoleBinding.role)
    ).all()
    return roles_by_name(rows)


def set_group_bindings(
    db: Session, caller: Caller, repo: Repository, group: Group, roles: Iterable[str]
) -> list[str]:
    """Replace *group*'s roles on *repo* (an empty list removes the binding); audited."""
    wanted = checked_roles(roles)
    db.execute(
        delete(GroupRoleBinding).where(
            GroupRoleBinding.repository_id == repo.id, GroupRoleBinding.group_id == group.id
        )
    )
    db.add_all(GroupRoleBinding(repository_id=repo.id, group_id=group.id, role=r) for r in wanted)
    changes.of(db).audit(
        caller, "group_binding.set", repo_key=repo.key, target=group.name, roles=wanted
    )
    return wanted
