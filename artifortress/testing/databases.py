"""Throw-away databases for tests: a migrated SQLite file or a PostgreSQL database.

PostgreSQL comes from ``ARTIFORTRESS_TEST_POSTGRES_URL`` (default: the local
server as ``postgres``).  Under ``CI=true`` a missing server fails the test
instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from artifortress.all_tables import metadata
from artifortress.db import migrate
from artifortress.db.engine import make_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "ARTIFORTRESS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def service_missing(what: str, error: BaseException | None = None) -> None:
    """Skip locally, fail under CI: a missing service must never pass silently there."""
    message = f"{what} is not reachable: {error}" if error else f"{what} is not reachable"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def migrated_sqlite_template(directory: Path) -> Path:
    """A SQLite file at schema head, made once and copied per test (fast)."""
    path = directory / "template.db"
    if not path.exists():
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def fresh_sqlite(template: Path, directory: Path) -> str:
    target = directory / f"test-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@contextmanager
def postgres_database(prefix: str = "af_test") -> Iterator[str]:
    """Create a new empty PostgreSQL database, yield its URL, drop it afterwards."""
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        service_missing("PostgreSQL", exc)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table of the schema (PostgreSQL), keeping the migration state.

    DELETE is about a hundred times faster than TRUNCATE on tables this small;
    ``session_replication_role = replica`` lets it past the immutability
    triggers (and foreign keys), which a test reset must not trip over.
    Ids are not reset: no test may depend on them.
    """
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
