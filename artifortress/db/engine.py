"""Engine and session factory, with the per-dialect settings production needs."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

#: Set by the request pipeline for GET and HEAD.  Their SQLite transactions then
#: begin DEFERRED, so readers run side by side under WAL instead of queueing for
#: the write lock; everything else begins IMMEDIATE (see _sqlite_begin).
sqlite_reads_only: ContextVar[bool] = ContextVar("artifortress_sqlite_reads_only", default=False)

#: How long a SQLite statement waits for a lock before "database is locked".
SQLITE_BUSY_SECONDS = 30.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # One per database: the thread of this process asking for its write lock.
        turnstile = threading.Lock()
        event.listen(engine, "begin", lambda connection: _sqlite_begin(connection, turnstile))
        return engine
    if "poolclass" not in kwargs:  # sizes only apply to the default QueuePool
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_timeout", 10)
    # pre_ping makes the pool drop dead connections, so the service recovers on its
    # own after a database outage instead of failing on every stale connection.
    return create_engine(
        url, pool_pre_ping=True, connect_args=postgres_connect_args(make_url(url)), **kwargs
    )


def postgres_connect_args(url: URL) -> dict[str, Any]:
    """Timeouts that bound every wait on an unreachable server; the URL's query overrides them.

    Without them a request waits as long as the kernel keeps retrying: minutes
    for a connection to a host that drops packets, about a quarter of an hour
    for a query on a connection whose host vanished.
    """
    defaults: dict[str, Any] = {
        "connect_timeout": 5,
        # Pooled idle connections to a vanished host are found out within a minute.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if _libpq_version() >= 120000:
        # Data unacknowledged for 30 s (dead host mid-query) fails the connection.
        defaults["tcp_user_timeout"] = 30_000
    return {name: value for name, value in defaults.items() if name not in url.query}


def _libpq_version() -> int:
    import psycopg

    return int(psycopg.pq.version())


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy drive transactions (BEGIN is emitted in _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Any, turnstile: threading.Lock) -> None:
    # IMMEDIATE takes the write lock up front: concurrent writers queue for it
    # instead of failing later with an unrecoverable upgrade deadlock.
    # Safe requests only read (a rare write, such as storing a rendering, copes
    # with being refused), so they begin deferred and never wait for writers.
    if sqlite_reads_only.get():
        connection.exec_driver_sql("BEGIN")
    else:
        _begin_immediate(connection, turnstile)


#: Pauses between attempts at SQLite's write lock, then the last one repeated.
_WRITE_LOCK_PAUSES = (0.0002, 0.0005, 0.001, 0.002)


def _begin_immediate(connection: Any, turnstile: threading.Lock) -> None:
    """``BEGIN IMMEDIATE``, asked again every few milliseconds while another writer holds it.

    SQLite's own busy handler sleeps 25 to 100 ms between attempts once a
    wait lasts a few attempts, however soon the lock is free: with a dozen
    writers of three processes taking turns, each for a few milliseconds,
    requests waited up to half a second for a lock that was free most of
    that time. After the busy timeout the last attempt fails as SQLite's
    own would ("database is locked", through SQLAlchemy).
    """
    dbapi_connection = connection.connection.dbapi_connection
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    # One thread of the process asks at a time; the others wait on the turnstile,
    # costing nothing, instead of a dozen threads each asking every 2 ms.
    if not turnstile.acquire(timeout=SQLITE_BUSY_SECONDS):
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # waits its busy timeout, then fails
        return
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        for attempt in itertools.count():
            try:  # through SQLAlchemy: statement listeners see every attempt
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not _is_busy(exc.orig) or time.monotonic() >= deadline:
                    raise
            time.sleep(_WRITE_LOCK_PAUSES[min(attempt, len(_WRITE_LOCK_PAUSES) - 1)])
    finally:
        turnstile.release()
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")


def _is_busy(exc: BaseException | None) -> bool:
    busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
    return busy or (isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc))


#: A request's session, or a function opening it: a reader that finds what it needs
#: kept, or reads on a pooled connection, then opens none.
SessionOrOpener = Session | Callable[[], Session]


def session_of(db: SessionOrOpener) -> Session:
    """*db* itself, or the session its function opens."""
    return db if isinstance(db, Session) else db()


@contextmanager
def read_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads: on SQLite its transaction begins deferred, not IMMEDIATE.

    For a question polled often (is any event due?): it neither takes nor waits
    for SQLite's write lock, so it never makes the API's writers queue.  The
    session ends (rolls back) with the block; writing inside it is a mistake.
    """
    reads_only = sqlite_reads_only.set(True)
    try:
        with sessions() as db:
            yield db
    finally:
        sqlite_reads_only.reset(reads_only)


@contextmanager
def write_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction may write and commits at the end of the block.

    For work a request does on the side, in a session of its own: a GET's
    reads begin deferred on SQLite (``sqlite_reads_only``), but this one
    takes the write lock up front, as writers must, and holds it briefly.
    """
    reads_only = sqlite_reads_only.set(False)
    try:
        with sessions.begin() as db:
            yield db
    finally:
        sqlite_reads_only.reset(reads_only)


def make_session_factory(
    engine: Engine, *, info: dict[str, object] | None = None
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit, each with a copy of *info*."""
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)
