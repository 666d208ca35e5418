"""The few places where SQLite and PostgreSQL need different SQL, decided in one spot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: Anything that knows which database it talks to.
Bindable = Session | Connection | Engine

#: ``insert(table)`` of one dialect; both offer ``on_conflict_do_update`` / ``_do_nothing``.
InsertFactory = Callable[[Any], postgresql.Insert | sqlite.Insert]


def dialect_name(target: Bindable) -> str:
    """``"postgresql"`` or ``"sqlite"``: the dialect *target* speaks."""
    bind = target.get_bind() if isinstance(target, Session) else target
    return bind.dialect.name


def is_postgres(target: Bindable) -> bool:
    return dialect_name(target) == "postgresql"


def insert_for(target: Bindable) -> InsertFactory:
    """The ``insert`` of *target*'s dialect, the one with ``ON CONFLICT`` support."""
    return insert_for_dialect(dialect_name(target))


def insert_for_dialect(name: str) -> InsertFactory:
    """Like :func:`insert_for`, by dialect name (for statements cached per dialect)."""
    return postgresql.insert if name == "postgresql" else sqlite.insert
