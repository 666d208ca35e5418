"""Operator commands on users and groups (``artifortress admin ...-user``, ``artifortress group``).

Each takes the open transaction, the operator as caller and the parsed
arguments, and returns the line to print.  A server process sees a disabled
or deleted user within its token cache's bound (one second), like a revocation.
"""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from artifortress.auth import users
from artifortress.auth.principal import Caller
from artifortress.rbac import groups
from artifortress.repos.services import get_repo


def disable_user(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    user = users.get_user(db, caller.principal.tenant_id, args.user)
    users.set_disabled(db, caller, user, True)
    return f"disabled {user.name}: their tokens stop working within a second"


def enable_user(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    user = users.get_user(db, caller.principal.tenant_id, args.user)
    users.set_disabled(db, caller, user, False)
    return f"enabled {user.name}"


def delete_user(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    user = users.get_user(db, caller.principal.tenant_id, args.user)
    removed = users.delete_user(db, caller, user)
    counts = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in removed.items())
    return f"deleted {user.name} ({counts}); the name stays reserved"


def create_group(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    return f"created group {groups.create_group(db, caller, args.group).name}"


def delete_group(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    group = groups.get_group(db, caller.principal.tenant_id, args.group)
    groups.delete_group(db, caller, group)
    return f"deleted group {group.name}"


def list_groups(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    rows = groups.list_groups(db, caller.principal.tenant_id)
    lines = [f"{g.name}\t{', '.join(groups.members_of(db, g))}" for g in rows]
    return "\n".join(lines) or "no groups"


def add_member(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    tenant_id = caller.principal.tenant_id
    group = groups.get_group(db, tenant_id, args.group)
    groups.add_member(db, caller, group, users.get_user(db, tenant_id, args.user))
    return f"{args.user} is a member of {group.name}"


def remove_member(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    tenant_id = caller.principal.tenant_id
    group = groups.get_group(db, tenant_id, args.group)
    groups.remove_member(db, caller, group, users.get_user(db, tenant_id, args.user))
    return f"{args.user} is no longer a member of {group.name}"


def bind_group(db: Session, caller: Caller, args: argparse.Namespace) -> str:
    tenant_id = caller.principal.tenant_id
    repo = get_repo(db, tenant_id, args.repo)
    group = groups.get_group(db, tenant_id, args.group)
    roles = groups.set_group_bindings(db, caller, repo, group, args.roles or [])
    return f"group {group.name} on {repo.key}: {', '.join(roles) or 'no roles'}"
