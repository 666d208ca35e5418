"""Repository-scoped role-based access control."""
