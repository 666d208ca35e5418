"""Alembic migrations: from empty to head on both dialects, in step with the models, reversible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from artifortress.all_tables import metadata
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import TokenPolicy, issue_token
from artifortress.auth.users import ensure_user
from artifortress.db import migrate
from artifortress.db.engine import make_engine, make_session_factory
from artifortress.search.schema import include_name
from artifortress.tenants.services import get_or_create_tenant
from artifortress.testing.databases import postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database without any table."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_database("af_migrations") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names()) - {"alembic_version"}
        return {name for name in names if include_name(name, "table", {})}  # FTS5: unmapped


def differences(engine: Engine) -> list[object]:
    """What autogenerate would put into a new migration (nothing, if they agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "render_as_batch": conn.dialect.name == "sqlite",
                "include_name": include_name,
            },
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert tables(empty_engine) == set()
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine)
    assert tables(empty_engine) == set(metadata.tables)


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert differences(empty_engine) == []


def test_the_comparison_would_notice_a_drift(empty_engine: Engine) -> None:
    """The check above can fail: a table missing from the database is reported."""
    migrate.upgrade(empty_engine)
    victim = metadata.sorted_tables[-1]
    with empty_engine.begin() as conn:
        victim.drop(conn)
    kinds = [diff[0] for diff in differences(empty_engine) if isinstance(diff, tuple)]
    assert "add_table" in kinds


def test_downgrade_to_base_and_upgrade_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert tables(empty_engine) == set()
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert tables(empty_engine) == set(metadata.tables)
    assert differences(empty_engine) == []


def test_every_revision_steps_up_down_and_up(empty_engine: Engine) -> None:
    """The stairway: each migration applies, reverts and re-applies on its predecessor."""
    scripts = ScriptDirectory(str(migrate.migrations_dir()))
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert revisions, "no migrations found"
    for script in revisions:
        migrate.upgrade(empty_engine, script.revision)
        previous = script.down_revision
        assert not isinstance(previous, tuple | list), "merge revisions need their own step"
        migrate.downgrade(empty_engine, previous or "base")
        migrate.upgrade(empty_engine, script.revision)
        assert migrate.current_revision(empty_engine) == script.revision
    assert migrate.is_up_to_date(empty_engine)


def test_the_revision_chain_is_linear() -> None:
    """Two engineers adding migrations on the same parent must merge them before release."""
    scripts = ScriptDirectory(str(migrate.migrations_dir()))
    assert len(scripts.get_heads()) == 1, scripts.get_heads()


def test_a_sqlite_table_rebuild_keeps_the_rows_that_reference_it(tmp_path: Path) -> None:
    """Alembic rebuilds SQLite tables (copy, drop, rename); the drop must not cascade.

    With foreign keys enforced, dropping the old ``users`` table ran ``ON DELETE
    CASCADE`` and a future migration touching users would have deleted every token
    and role binding of an embedded installation on its next start.
    """
    engine = make_engine(f"sqlite:///{tmp_path / 'data.db'}")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as db:
        tenant = get_or_create_tenant(db)
        user = ensure_user(db, tenant.id, "alice", is_admin=False)
        issue_token(db, Caller(Principal.operator(tenant.id)), user, TokenPolicy(1, 1), name="t")

    with migrate.migration_connection(engine) as conn:
        operations = Operations(MigrationContext.configure(conn, opts={"render_as_batch": True}))
        with operations.batch_alter_table("users", recreate="always"):
            pass  # what any batch migration of the users table does

    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tokens")).scalar() == 1
    with pytest.raises(IntegrityError), sessions.begin() as db:  # enforcement is back on
        db.execute(text("UPDATE tokens SET user_id = 999"))
    engine.dispose()


def test_repository_kinds_keep_existing_repositories_hosted(empty_engine: Engine) -> None:
    """0009: repositories created before kinds existed are hosted; the step reverts cleanly."""
    migrate.upgrade(empty_engine, "0008")
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO tenants (id, name, created_at) VALUES (1, 't', :at)"),
            {"at": "2026-01-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO repositories (id, tenant_id, key, format, public, description,"
                " created_at, updated_at) VALUES (1, 1, 'py', 'pypi', false, '', :at, :at)"
            ),
            {"at": "2026-01-01 00:00:00"},
        )
    migrate.upgrade(empty_engine, "0009")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT kind FROM repositories")).scalar() == "hosted"
    migrate.downgrade(empty_engine, "0008")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT key FROM repositories")).scalar() == "py"
    assert not {"repository_upstreams", "repository_virtuals", "virtual_members"} & tables(
        empty_engine
    )
