"""Serve a stored rendering while it is current; rebuild it once after a change."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from artifortress.db.base import UtcDateTime, utcnow
from artifortress.db.dialects import dialect_name, insert_for
from artifortress.db.engine import SessionOrOpener, session_of
from artifortress.db.pooled import PooledRead
from artifortress.renderings.models import REPO_SCOPE, ChangeCounter, Document

log = logging.getLogger("artifortress.renderings")

#: (repository id, rendering key, revision, change time in µs): unique per content.
#: The change time keeps keys unique even when revisions count up again from an
#: older value (a database restored from a backup) or two installations share
#: one Redis.
RenderingKey = tuple[int, str, int, int]


class Cache(Protocol):
    def get(self, key: RenderingKey) -> Rendered | None: ...

    def put(self, key: RenderingKey, value: Rendered) -> None: ...


@dataclasses.dataclass(frozen=True)
class Rendered:
    """Bytes ready to send, with their validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: dt.datetime


def note_change(db: Session, repository_id: int, *packages: str) -> None:
    """Bump the counters of the repository and of *packages*, in the caller's txn.

    One statement for all rows; the repository's row always comes first, so
    concurrent writers take the row locks in the same order (callers pass
    *packages* sorted).  Mutations note through ``artifortress.changes``.
    """
    scopes = (REPO_SCOPE, *packages)
    params = {"repository_id_": repository_id, "now": utcnow()}
    params.update({f"scope_{n}": scope for n, scope in enumerate(scopes)})
    db.connection().execute(_bump(len(scopes)), params)


@functools.cache
def _bump(scopes: int) -> Executable:
    """The upsert of *scopes* counters, built once per size (it runs on every change).

    Plain SQL that SQLite and PostgreSQL both speak: the dialects' ``insert
    ... on_conflict_do_update`` has no cache key, so SQLAlchemy compiled it
    anew on every change (a third of a cached file's publish went there).
    """
    rows = ", ".join(f"(:repository_id_, :scope_{n}, 1, :now)" for n in range(scopes))
    sql = (
        "INSERT INTO change_counters (repository_id, scope, revision, changed_at) "  # noqa: S608 (placeholders only)
        f"VALUES {rows} ON CONFLICT (repository_id, scope) DO UPDATE SET "
        "revision = change_counters.revision + 1, changed_at = excluded.changed_at"
    )
    return text(sql).bindparams(bindparam("now", type_=UtcDateTime()))


#: Read on every request for a stored rendering: built once (see repos.services).
_COUNTER = select(ChangeCounter.revision, ChangeCounter.changed_at).where(
    ChangeCounter.repository_id == bindparam("repository_id"),
    ChangeCounter.scope == bindparam("scope"),
)


#: A change counter's state: its revision and the time of that change.
Revision = tuple[int, dt.datetime]
#: The state of a counter that has never been bumped.
_NEVER: Revision = (0, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def _counter(db: Session, repository_id: int, scope: str) -> Revision:
    # On the connection: the ORM's execute path costs twice the query on this hot path.
    params = {"repository_id": repository_id, "scope": scope}
    row = db.connection().execute(_COUNTER, params).one_or_none()
    if row is None:
        return _NEVER
    return int(row[0]), row[1]


class CounterReader:
    """Reads a change counter on a pooled connection, outside any session.

    A cached page costs that one read (see :mod:`artifortress.db.pooled`).
    Only for a request that has read nothing yet: the counter is then read
    before anything a rebuild reads (whose transaction begins later), so a
    body is never older than the revision it is kept under. One that already
    read must read it in its own transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self._read = PooledRead(engine, _COUNTER)

    def read(self, repository_id: int, scope: str) -> Revision:
        row = self._read.first(repository_id=repository_id, scope=scope)
        if row is None:
            return _NEVER
        return int(row[0]), row[1]


def rendered(
    db: SessionOrOpener,
    repository_id: int,
    key: str,
    *,
    package: str | None,
    content_type: str,
    build: Callable[[], bytes],
    cache: Cache | None = None,
    counters: CounterReader | None = None,
) -> Rendered:
    """The stored rendering *key*, rebuilt with *build* if the state changed since.

    One primary-key read of the change counter per call decides validity; the
    body then comes from *cache* (memory, Redis), the stored row, or a rebuild.
    *db* may be a function opening the session on first use: with *counters*,
    a cache hit opens none (see :class:`CounterReader` for when that is right).
    """
    scope = REPO_SCOPE if package is None else package
    if counters is not None and not isinstance(db, Session):
        revision, changed_at = counters.read(repository_id, scope)
    else:
        revision, changed_at = _counter(session_of(db), repository_id, scope)
    cache_key = (repository_id, key, revision, _microseconds(changed_at))
    cached = cache.get(cache_key) if cache is not None else None
    if cached is not None:
        return cached
    db = session_of(db)
    with _one_at_a_time((repository_id, key)):
        # Whoever held the lock may have just built (and cached) this very rendering.
        cached = cache.get(cache_key) if cache is not None else None
        if cached is not None:
            return cached
        stored = db.get(Document, (repository_id, key))
        if stored is not None and stored.revision == revision:
            found = Rendered(stored.body, stored.content_type, stored.etag, stored.changed_at)
            if cache is not None:
                cache.put(cache_key, found)
            return found
        result = _rebuild(db, repository_id, key, scope, revision, changed_at, content_type, build)
        if cache is not None:
            cache.put(cache_key, result)
        return result


_GUARD = threading.Lock()
_LOCKS: dict[tuple[int, str], tuple[threading.Lock, list[int]]] = {}


@contextlib.contextmanager
def _one_at_a_time(name: tuple[int, str]) -> Iterator[None]:
    """One thread of this process at a time loads or builds a rendering; the others wait.

    The first requests after a publish all find the page stale: without this,
    each of a worker's threads builds the same 1,000-file page at once, and
    the transient memory of eight builds (about 45 MiB) stays with the worker.
    Only misses come here, so serving a cached page never waits.
    """
    with _GUARD:
        lock, users = _LOCKS.setdefault(name, (threading.Lock(), [0]))
        users[0] += 1
    try:
        with lock:
            yield
    finally:
        with _GUARD:
            users[0] -= 1
            if users[0] == 0:
                del _LOCKS[name]


def _microseconds(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _rebuild(
    db: Session,
    repository_id: int,
    key: str,
    scope: str,
    revision: int,
    changed_at: dt.datetime,
    content_type: str,
    build: Callable[[], bytes],
) -> Rendered:
    body = build()
    etag = '"' + hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()[:32] + '"'
    values = {
        "scope": scope,
        "revision": revision,
        "etag": etag,
        "content_type": content_type,
        "body": body,
        "changed_at": changed_at,
        "built_at": utcnow(),
    }
    insert = insert_for(db)(Document).values(repository_id=repository_id, key=key, **values)
    upsert = insert.on_conflict_do_update(index_elements=["repository_id", "key"], set_=values)
    try:
        with db.begin_nested():
            db.execute(upsert)
    except OperationalError:
        if dialect_name(db) != "sqlite":
            raise
        # A read-only SQLite transaction lost the race for the write lock: the
        # rendering is still correct, it is simply stored by a later request.
        log.info("rendering %s not stored this time (database busy)", key)
    return Rendered(body, content_type, etag, changed_at)
