"""Repositories: named, formatted containers of packages, owned by a tenant."""
