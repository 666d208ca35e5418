"""The full-text objects beside ``search_documents``, per dialect, and their upkeep.

PostgreSQL: a generated ``tsvector`` column (names weigh most, then keywords,
summary, description) with a GIN index.  SQLite: an external-content FTS5
table kept in step by triggers.  Both use plain word splitting (no stemming),
so prefix queries behave alike on both.  The migration creates them through
:func:`create_fulltext`; ``artifortress reindex`` recreates table and objects
when they are broken or missing.  None of it is mapped, so Alembic's
comparison skips it through :func:`include_name`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from artifortress.db.dialects import is_postgres

TABLE = "search_documents"
FTS = "search_fts"
PG_COLUMN = "document"
PG_INDEX = "ix_search_documents_document"

POSTGRES_CREATE = [
    f"""
    ALTER TABLE {TABLE} ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig,
                              coalesce(name, '') || ' ' || coalesce(display_name, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(keywords, '')), 'B')
        || setweight(to_tsvector('simple'::regconfig, coalesce(summary, '')), 'C')
        || setweight(to_tsvector('simple'::regconfig, left(coalesce(description, ''), 100000)), 'D')
    ) STORED
    """,
    f"CREATE INDEX {PG_INDEX} ON {TABLE} USING GIN ({PG_COLUMN})",
]
POSTGRES_DROP = [
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {PG_COLUMN}",
]

# Spelled out (not composed) so the statements read as the SQL they are.
SQLITE_CREATE = [
    """
    CREATE VIRTUAL TABLE search_fts USING fts5(
        name, display_name, keywords, summary, description,
        content='search_documents', content_rowid='package_id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER search_fts_insert AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts(rowid, name, display_name, keywords, summary, description)
        VALUES (new.package_id, new.name, new.display_name, new.keywords, new.summary,
                new.description);
    END
    """,
    """
    CREATE TRIGGER search_fts_delete AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, display_name, keywords, summary,
                               description)
        VALUES ('delete', old.package_id, old.name, old.display_name, old.keywords, old.summary,
                old.description);
    END
    """,
    """
    CREATE TRIGGER search_fts_update AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, display_name, keywords, summary,
                               description)
        VALUES ('delete', old.package_id, old.name, old.display_name, old.keywords, old.summary,
                old.description);
        INSERT INTO search_fts(rowid, name, display_name, keywords, summary, description)
        VALUES (new.package_id, new.name, new.display_name, new.keywords, new.summary,
                new.description);
    END
    """,
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]
_SQLITE_TRIGGERS = {f"{FTS}_insert", f"{FTS}_delete", f"{FTS}_update"}


def create_fulltext(conn: Connection) -> None:
    """Add the dialect's full-text objects to an existing ``search_documents`` table."""
    for statement in POSTGRES_CREATE if is_postgres(conn) else SQLITE_CREATE:
        conn.execute(text(statement))


def drop_fulltext(conn: Connection) -> None:
    for statement in POSTGRES_DROP if is_postgres(conn) else SQLITE_DROP:
        conn.execute(text(statement))


def recreate(conn: Connection) -> None:
    """Drop and create the table and its full-text objects, empty (the index is derived data)."""
    from artifortress.search.models import SearchDocument

    if not is_postgres(conn):
        drop_fulltext(conn)  # on PostgreSQL the column and index go with the table
    conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    SearchDocument.metadata.tables[TABLE].create(conn)
    create_fulltext(conn)


def problem(conn: Connection) -> str | None:
    """Why the index cannot serve (a missing table, column or trigger), or ``None``."""
    from sqlalchemy import inspect

    inspector = inspect(conn)
    if not inspector.has_table(TABLE):
        return f"the table {TABLE} is missing"
    if is_postgres(conn):
        columns = {c["name"] for c in inspector.get_columns(TABLE)}
        return None if PG_COLUMN in columns else f"the column {TABLE}.{PG_COLUMN} is missing"
    if not inspector.has_table(FTS):
        return f"the FTS5 table {FTS} is missing"
    triggers = set(
        conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
    )
    missing = _SQLITE_TRIGGERS - triggers
    return f"the triggers {sorted(missing)} are missing" if missing else None


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic ``include_name`` hook: leave the unmapped full-text objects out of comparisons."""
    if type_ == "table":
        return not (name == FTS or (name or "").startswith(f"{FTS}_"))
    if type_ == "column" and parent_names.get("table_name") == TABLE:
        return name != PG_COLUMN
    if type_ == "index":
        return name != PG_INDEX
    return True
