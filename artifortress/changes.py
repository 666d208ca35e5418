"""One unit of work per change: its audit rows, outbox events and change notes, written once.

Every mutation leaves the same three traces: an audit row (who did what),
an outbox event (what webhook receivers and the indexer learn after commit)
and a change note (which stored renderings are stale).  A mutation collects
them on ``changes.of(db)``; the session's commit writes them all in one go,
inside the transaction, so they commit with the change or not at all:

* change notes of one (repository, package) are collapsed into one bump,
  taken in a fixed order (by repository, the repository's row first), so
  concurrent writers lock the counters alike;
* what a savepoint collected is dropped when the savepoint rolls back, as
  the rows it wrote are; everything is dropped when the transaction ends;
* a change that notes renderings or emits an event without an audit row
  is refused at commit (:class:`IncompleteChange`): nothing may change
  without saying who changed it.

This module knows the writers of the audit, outbox and renderings planes
and nothing above them; those planes never import it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from artifortress.audit import services as audit
from artifortress.outbox.events import ACTION_EVENTS, version_payload
from artifortress.outbox.services import emit_all
from artifortress.renderings.store import note_change

if TYPE_CHECKING:
    from artifortress.auth.principal import Caller
    from artifortress.repos.models import Repository
    from artifortress.versions.models import Version

_KEY = "artifortress.change"


class IncompleteChange(RuntimeError):
    """A change noted renderings or emitted an event but recorded no audit row."""


@dataclasses.dataclass(frozen=True)
class _AuditRow:
    caller: Caller
    action: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class _Event:
    event_type: str
    payload: dict[str, Any]
    tenant_id: int
    repo_key: str | None


#: How much a unit had collected when a savepoint began: (audit rows, events, notes).
_Mark = tuple[int, int, int]


class Change:
    """What one transaction changed, collected until its commit writes it."""

    def __init__(self) -> None:
        self._audit: list[_AuditRow] = []
        self._events: list[_Event] = []
        self._notes: dict[tuple[int, str], None] = {}  # ordered set
        self._marks: dict[SessionTransaction, _Mark] = {}

    def audit(
        self,
        caller: Caller,
        action: str,
        *,
        repo_key: str | None = None,
        target: str | None = None,
        outcome: str = audit.SUCCESS,
        **details: Any,
    ) -> None:
        """Record that *caller* did *action* (an audit row)."""
        row = {"repo_key": repo_key, "target": target, "outcome": outcome, **details}
        self._audit.append(_AuditRow(caller, action, row))

    def event(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        tenant_id: int,
        repo_key: str | None = None,
    ) -> None:
        """Emit *event_type* to the outbox; workers see it once the transaction commits."""
        self._events.append(_Event(event_type, payload, tenant_id, repo_key))

    def version_event(
        self,
        event_type: str,
        version: Version,
        repo: Repository,
        caller: Caller | None = None,
        *,
        visible: bool = True,
        **details: Any,
    ) -> None:
        """Emit a version event; its payload describes *version* as it is now.

        Unless the version stays hidden from clients (*visible* false: held in
        quarantine, rejected), its package's renderings are noted stale too,
        so no visible change can forget that.
        """
        if visible:
            self.touch(version.repository_id, version.package.name)
        payload = version_payload(version, repo, caller, **details)
        self.event(event_type, payload, tenant_id=repo.tenant_id, repo_key=repo.key)

    def touch(self, repository_id: int, package: str) -> None:
        """Note that what clients see of *package* (and so of its repository) changed."""
        self._notes[(repository_id, package)] = None

    def version_changed(
        self, caller: Caller, action: str, version: Version, repo: Repository, **details: Any
    ) -> None:
        """The three traces of a visible change to a version: note, audit row, event.

        The event is the action's (``ACTION_EVENTS``), or the action itself.
        """
        target = f"{version.package.name}@{version.version}"
        self.audit(caller, action, repo_key=repo.key, target=target, **details)
        event_type = ACTION_EVENTS.get(action, action)
        self.version_event(event_type, version, repo, caller, **details)

    def _write(self, db: Session) -> None:
        """Write everything collected into *db*'s transaction, then forget it."""
        if (self._notes or self._events) and not self._audit:
            raise IncompleteChange(f"{self._describe()} without an audit row")
        for repository_id in sorted({repository_id for repository_id, _ in self._notes}):
            packages = sorted(p for r, p in self._notes if r == repository_id)
            note_change(db, repository_id, *packages)
        audit.record_all(db, [(row.caller, row.action, row.details) for row in self._audit])
        emit_all(
            db, [(ev.event_type, ev.payload, ev.tenant_id, ev.repo_key) for ev in self._events]
        )
        self._audit, self._events, self._notes = [], [], {}

    def _collected(self) -> bool:
        return bool(self._audit or self._events or self._notes)

    def _describe(self) -> str:
        events = [ev.event_type for ev in self._events]
        return f"a change noting {sorted(self._notes)} and emitting {events}"

    def _begin_savepoint(self, savepoint: SessionTransaction) -> None:
        self._marks[savepoint] = (len(self._audit), len(self._events), len(self._notes))

    def _roll_back_to(self, savepoint: SessionTransaction) -> None:
        """Forget what *savepoint* collected (all of it if this unit began inside it)."""
        audit_rows, events, notes = self._marks.pop(savepoint, (0, 0, 0))
        del self._audit[audit_rows:], self._events[events:]
        self._notes = dict(list(self._notes.items())[:notes])


def of(db: Session) -> Change:
    """The change *db*'s current transaction is making (created on first use)."""
    change: Change | None = db.info.get(_KEY)
    if change is None:
        change = db.info[_KEY] = Change()
    return change


def _pending(db: Session) -> Change | None:
    return db.info.get(_KEY)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_begun(db: Session, transaction: SessionTransaction) -> None:
    change = _pending(db)
    if change is not None and transaction.nested:
        change._begin_savepoint(transaction)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(db: Session, transaction: SessionTransaction) -> None:
    change = _pending(db)
    if change is not None and transaction.nested:
        change._roll_back_to(transaction)


@event.listens_for(Session, "before_commit")
def _committing(db: Session) -> None:
    # Also called when a savepoint is released: the outer transaction writes.
    change = _pending(db)
    if change is not None and not db.in_nested_transaction():
        change._write(db)


@event.listens_for(Session, "after_commit")
def _committed(db: Session) -> None:
    change = _pending(db)
    if change is not None and not db.in_nested_transaction() and change._collected():
        # Only a commit of the outer transaction while a savepoint that collected
        # was still open gets here: say so rather than lose the traces quietly.
        raise IncompleteChange(f"{change._describe()} was committed unwritten (savepoint open)")


@event.listens_for(Session, "after_transaction_end")
def _ended(db: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:  # committed or rolled back
        db.info.pop(_KEY, None)
