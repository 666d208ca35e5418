"""Tenant lookup; the default tenant is created on demand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from artifortress.tenants.models import DEFAULT_TENANT, Tenant


def get_or_create_tenant(db: Session, name: str = DEFAULT_TENANT) -> Tenant:
    """Return the tenant called *name*, creating it in this transaction if missing."""
    tenant = db.scalars(select(Tenant).where(Tenant.name == name)).one_or_none()
    if tenant is None:
        tenant = Tenant(name=name)
        db.add(tenant)
        db.flush()
    return tenant
