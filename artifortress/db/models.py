"""Imports every plane's tables so that ``metadata`` knows all of them."""

from artifortress.audit.models import AuditEntry
from artifortress.auth.models import Token, User
from artifortress.rbac.models import RoleBinding
from artifortress.repos.models import Repository
from artifortress.tenants.models import Tenant

__all__ = ["AuditEntry", "Repository", "RoleBinding", "Tenant", "Token", "User"]
