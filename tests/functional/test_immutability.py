"""The database itself refuses to change what was published, whoever asks.

These tests bypass every Python layer with raw SQL on a connection of their
own, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from tests.functional.versions_helpers import draft, release


@pytest.fixture
def published(admin, make_repo):
    make_repo("libs", format="generic")
    return release(admin, "libs", "tool", "1.0", {"tool.bin": b"payload", "tool.sig": b"sig"})


def _run(services, sql: str, **params: object) -> int:
    with services.engine.begin() as conn:
        return conn.execute(text(sql), params).rowcount


REFUSED = [
    "UPDATE artifacts SET digest = 'sha256:' || substr(digest, 8, 63) || '0'",
    "UPDATE artifacts SET size = size + 1",
    "UPDATE artifacts SET filename = 'other.bin'",
    "DELETE FROM artifacts",
    "UPDATE versions SET version = '1.1'",
    "UPDATE versions SET package_id = package_id + 1000",
    "UPDATE versions SET state = 'draft'",
    "UPDATE versions SET published_at = NULL",
    "DELETE FROM versions",
    "UPDATE packages SET name = 'renamed'",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_database_refuses_changes_to_published_identity_and_files(services, published, sql):
    with pytest.raises(exc.DBAPIError) as raised:
        _run(services, sql)
    assert "artifortress" in str(raised.value)
    with services.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT filename, digest, size FROM artifacts ORDER BY filename")
        ).all()
        version = conn.execute(text("SELECT version, state FROM versions")).one()
    assert [(r.filename, r.digest, r.size) for r in rows] == [
        (a["filename"], a["digest"], a["size"]) for a in published["artifacts"]
    ]
    assert tuple(version) == ("1.0", "published")


ALLOWED = [
    "UPDATE versions SET yanked = TRUE, yank_reason = 'bad'",
    "UPDATE versions SET deprecated = 'use 2'",
    "UPDATE versions SET state = 'tombstoned', tombstoned_at = CURRENT_TIMESTAMP",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_status_flags_and_tombstone_may_change(services, published, sql):
    assert _run(services, sql) == 1


COPY_FILE = (
    "INSERT INTO artifacts (version_id, filename, digest, size, media_type, metadata, created_at)"
    " SELECT version_id, 'new.bin', digest, size, media_type, metadata, created_at"
    " FROM artifacts LIMIT 1"
)


def test_tombstoned_version_takes_no_new_files(services, published):
    _run(services, "UPDATE versions SET state = 'tombstoned', tombstoned_at = CURRENT_TIMESTAMP")
    with pytest.raises(exc.DBAPIError):
        _run(services, COPY_FILE)


def test_drafts_stay_freely_editable(services, admin, published):
    opened = draft(admin, "libs", "tool", "2.0")
    assert (
        _run(services, "UPDATE versions SET version = '2.1' WHERE id = :id", id=opened["id"]) == 1
    )
    assert _run(services, "DELETE FROM versions WHERE id = :id", id=opened["id"]) == 1
