"""Tenants: every user, repository and audit row belongs to exactly one."""
