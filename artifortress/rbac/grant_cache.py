"""Decisions that let a caller read a repository, kept per process within the revocation bound.

Every read resolves the repository and the caller's roles on it: two queries
that cost more than sending a cached page. A decision granting ``read`` is
kept for at most ``ARTIFORTRESS_TOKEN_CACHE_SECONDS`` (one second by
default), the bound already promised for revoking a token. So removing a role
or a group member, deleting or demoting a user, making a repository private
or deleting it takes effect at once in the process that commits it (any
write to the tables decisions read makes this process decide afresh, however
it was written) and within that bound on every other process. Refusals are
never kept, so a new grant works on the next request everywhere; decisions
needing more than ``read`` are never taken from here. A bound of 0 decides
every request afresh.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from artifortress.auth.principal import Principal
from artifortress.rbac.permissions import Permission
from artifortress.repos.views import RepoRef

#: Writes to the tables a decision reads (or that decide who a principal is).
_DECIDING_WRITE = re.compile(
    r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?'
    r"(?:role_bindings|group_role_bindings|group_members|groups|users|repositories|tenants)\b",
    re.IGNORECASE,
)
#: Set on a connection whose transaction wrote such a row.
_DIRTY = "artifortress.grants.dirty"

Decision = tuple[RepoRef, frozenset[Permission]]


class GrantCache:
    """Per-process memory of ``(principal, repository key) -> (repository, grants)``."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[tuple[Principal, str], tuple[float, int, Decision]] = {}
        self._lock = threading.Lock()
        #: Bumped when a transaction of this process that changed a decision commits.
        self._generation = 0

    def watch(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        """Forget every decision when a transaction on *engine* that changes one commits.

        Forgotten as the commit begins (a decision already kept must not outlive
        it) and once more when a session's commit has ended: a thread reading in
        between still saw the old rows, and must not keep them.
        """
        event.listen(engine, "before_cursor_execute", _note_deciding_write)
        event.listen(engine, "commit", self._committing)
        event.listen(engine, "rollback", _forget_note)
        event.listen(sessions, "after_commit", self._committed)

    def reading(self, principal: Principal, key: str) -> Decision | None:
        """A kept decision granting *principal* read on repository *key*, if one is current."""
        if self._seconds <= 0:
            return None
        entry = self._entries.get((principal, key))
        if entry is None or entry[0] <= time.monotonic() or entry[1] != self._generation:
            return None
        return entry[2]

    def generation(self) -> int:
        """Read before deciding afresh; hand back to :meth:`keep` with the decision."""
        return self._generation

    def keep(self, principal: Principal, key: str, decision: Decision, generation: int) -> None:
        """Keep *decision* if it grants read (refusals are never kept).

        A decision read while a change committed carries the older
        *generation*, so it is never taken from here afterwards.
        """
        if self._seconds <= 0 or Permission.READ not in decision[1]:
            return
        with self._lock:
            if len(self._entries) > _MAX_ENTRIES:
                self._entries.clear()  # callers x repositories, bounded; rebuilt in a second
            expires = time.monotonic() + self._seconds
            self._entries[(principal, key)] = (expires, generation, decision)

    def _committing(self, connection: Any) -> None:
        if _pop_note(connection):
            _committing.pending = True
            self._forget_all()

    def _committed(self, session: Session) -> None:
        if getattr(_committing, "pending", False):
            _committing.pending = False
            self._forget_all()

    def _forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


#: Per thread: a commit that changed a decision is under way (see ``GrantCache.watch``).
_committing = threading.local()


#: Far above callers x repositories active within one second on one process.
_MAX_ENTRIES = 100_000


def _note_deciding_write(
    connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if statement[:1] not in "IUDiud" and not statement[:1].isspace():
        return  # a SELECT, BEGIN, ...: the nearly every statement case, one comparison
    if _DECIDING_WRITE.match(statement):
        connection.info[_DIRTY] = True


def _forget_note(connection: Any) -> None:
    _pop_note(connection)


def _pop_note(connection: Any) -> bool:
    """Whether *connection*'s transaction wrote what decisions read; forgets the note."""
    try:
        return bool(connection.info.pop(_DIRTY, False))
    except SQLAlchemyError:  # the connection was lost (invalidated): nothing of it commits
        return False
