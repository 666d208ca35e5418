"""Database plumbing shared by every plane: metadata, engine, sessions, migrations."""

from artifortress.db.base import Base, metadata, utcnow

__all__ = ["Base", "metadata", "utcnow"]
