"""Alembic environment: runs against the URL that ``artifortress.db.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from artifortress.all_tables import metadata
from artifortress.db.engine import make_engine
from artifortress.search.schema import include_name


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        # The search index's full-text objects are created by SQL, not mapped.
        include_name=include_name,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
