"""Roles, the permissions they grant, and how a principal's permissions combine."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    PROMOTE = "promote"


#: ``read`` < ``write`` < ``admin``; ``promote`` stands apart and must be bound on its own.
ROLE_GRANTS: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "write": frozenset({Permission.READ, Permission.WRITE}),
    "admin": frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN}),
    "promote": frozenset({Permission.PROMOTE}),
}

ROLES = tuple(ROLE_GRANTS)
ALL_PERMISSIONS = frozenset(Permission)
