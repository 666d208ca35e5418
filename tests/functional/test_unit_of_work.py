"""One unit of work per change: audit rows, outbox events and change notes, written at commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.audit.models import AuditEntry
from artifortress.auth.principal import Caller, Principal
from artifortress.container import Services
from artifortress.outbox.models import OutboxEvent
from artifortress.renderings.models import REPO_SCOPE, ChangeCounter
from artifortress.repos.models import Repository
from artifortress.versions import drafts, labels
from artifortress.versions.models import Version
from tests.functional.versions_helpers import add_file, draft, upload


@pytest.fixture
def opened(admin: Any, make_repo: Callable[..., Any]) -> int:
    """The id of a draft of ``pkg 1.0`` with one file, in repository ``uow``."""
    make_repo("uow")
    created = draft(admin, "uow", "pkg", "1.0")
    added = add_file(admin, "uow", created["id"], "pkg.txt", upload(admin, "uow", b"data"))
    assert added.status_code == 201, added.text
    return int(created["id"])


def _caller(services: Services) -> Caller:
    return Caller(Principal.operator(services.default_tenant_id()), client_addr="test")


def _traces(services: Services) -> tuple[list[str], list[str], dict[str, int]]:
    """The audit actions, event types and change counters, oldest first."""
    with services.sessions() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        types = list(db.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.id)))
        rows = db.execute(select(ChangeCounter.scope, ChangeCounter.revision))
        counters = {scope: revision for scope, revision in rows}
    return actions, types, counters


@pytest.fixture
def statements(services: Services) -> Iterator[list[str]]:
    """The INSERT statements run while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(services.engine, "before_cursor_execute", record)
    yield seen
    event.remove(services.engine, "before_cursor_execute", record)


def _table_inserts(statements: list[str], table: str) -> int:
    return sum(1 for s in statements if s.split("(")[0].split()[-1].strip('"') == table)


def _open(db: Session, draft_id: int) -> tuple[Repository, Version]:
    version = db.get(Version, draft_id)
    assert version is not None
    repo = db.get(Repository, version.repository_id)
    assert repo is not None
    return repo, version


def test_a_publish_with_labels_writes_each_trace_once(services, opened, statements):
    before_actions, before_types, before = _traces(services)
    statements.clear()
    with services.sessions.begin() as db:
        repo, version = _open(db, opened)
        drafts.publish(db, _caller(services), repo, version, labels=["latest", "beta"])
        assert _table_inserts(statements, "audit_log") == 0, "nothing is written before commit"
    actions, types, counters = _traces(services)
    assert actions[len(before_actions) :] == ["version.publish", "label.set", "label.set"]
    assert types[len(before_types) :] == ["version.published", "label.set", "label.set"]
    # The publish and its two labels are one change of the package: one bump, one statement.
    assert counters["pkg"] == before.get("pkg", 0) + 1
    assert counters[REPO_SCOPE] == before.get(REPO_SCOPE, 0) + 1
    assert _table_inserts(statements, "change_counters") == 1


def _doomed_labels(db: Session, caller: Caller, version: Version) -> None:
    """Set two labels in a savepoint (one in a released inner one), then fail it."""
    with db.begin_nested():
        with db.begin_nested():  # released into the savepoint that rolls back
            labels.set_label(db, caller, version, "inner")
        labels.set_label(db, caller, version, "doomed")
        raise RuntimeError("the savepoint rolls back")


def test_a_rolled_back_savepoint_writes_nothing_it_collected(services, opened):
    before_actions, before_types, before = _traces(services)
    caller = _caller(services)
    with services.sessions.begin() as db:
        repo, version = _open(db, opened)
        drafts.publish(db, caller, repo, version)
        with pytest.raises(RuntimeError):
            _doomed_labels(db, caller, version)
        with db.begin_nested():
            labels.set_label(db, caller, version, "kept")
    actions, types, counters = _traces(services)
    assert actions[len(before_actions) :] == ["version.publish", "label.set"]
    assert types[len(before_types) :] == ["version.published", "label.set"]
    assert counters["pkg"] == before.get("pkg", 0) + 1
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert entry.target == "pkg:kept"


def test_a_rolled_back_transaction_leaves_nothing_for_the_next(services, opened):
    before_actions, _, before = _traces(services)
    caller = _caller(services)
    with services.sessions() as db:
        repo, version = _open(db, opened)
        drafts.publish(db, caller, repo, version)
        db.rollback()
        changes.of(db).audit(caller, "test.after_rollback")
        db.commit()
    actions, _, counters = _traces(services)
    assert actions[len(before_actions) :] == ["test.after_rollback"]
    assert counters.get("pkg") == before.get("pkg")


def _unaudited(services: Services, draft_id: int, trace: str) -> None:
    """Note a change or emit an event, and record no audit row."""
    with services.sessions.begin() as db:
        repo, _ = _open(db, draft_id)
        change = changes.of(db)
        if trace == "note":
            change.touch(repo.id, "pkg")
        else:
            change.event("test.unaudited", {}, tenant_id=repo.tenant_id, repo_key=repo.key)


@pytest.mark.parametrize("trace", ["note", "event"])
def test_a_change_without_an_audit_row_is_refused(services, opened, trace):
    before = _traces(services)
    with pytest.raises(changes.IncompleteChange):
        _unaudited(services, opened, trace)
    assert _traces(services) == before


def _commit_with_open_savepoint(services: Services) -> None:
    """Commit the outer transaction while a savepoint that collected an audit row is open."""
    with services.sessions.begin() as db:
        db.begin_nested()
        changes.of(db).audit(_caller(services), "test.lost")


def test_traces_left_unwritten_by_a_commit_are_caught(services, opened):
    with pytest.raises(changes.IncompleteChange, match="unwritten"):
        _commit_with_open_savepoint(services)
