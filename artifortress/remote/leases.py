"""Single-flight leases: the right of one process to fetch one key.

Two kinds, chosen by the database (:func:`leases_for`):

- PostgreSQL (many nodes): a row in ``remote_fetches``, taken by one upsert
  that succeeds only if the key is free or its holder let it expire, renewed
  while bytes flow, and deleted in the transaction that publishes the result
  (:meth:`RowLease.release_in`), so a fetch costs one write transaction
  besides its publish.
- SQLite (one node by construction: the embedded database): an exclusive
  ``flock`` on a file in a folder beside the database.  The kernel releases it
  when its process dies, so nothing expires, and taking it writes nothing to
  the database, whose single writer every cold file used to queue for three
  times (lease taken, result published, lease released).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy import ColumnElement, Delete, Update, delete, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from artifortress.db.base import utcnow
from artifortress.db.dialects import insert_for
from artifortress.db.engine import read_session, write_session
from artifortress.remote.models import RemoteFetch

_FETCHES = RemoteFetch.__table__


class Lease(Protocol):
    """The right to fetch one key until released (or its holder dies)."""

    def acquire(self) -> bool:
        """Take the lease if nobody holds it."""

    def keep_alive(self) -> None:
        """Tell others the holder still works on it (call it while bytes flow)."""

    def release_in(self, db: Session) -> None:
        """End the lease with *db*'s transaction, the one that commits the result."""

    def release(self) -> None:
        """End the lease now, unless it ended already."""


class Leases(Protocol):
    """Where the leases of one database live."""

    def lease(self, repository_id: int, key: str, seconds: float) -> Lease:
        """A lease on *key*, not yet taken; *seconds* bound how long a silent holder keeps it."""

    def held(self, repository_id: int, key: str) -> bool:
        """Whether someone holds *key*'s lease now."""


def leases_for(sessions: sessionmaker[Session]) -> Leases:
    """File locks beside a SQLite database file; lease rows otherwise."""
    url = sessions.kw["bind"].url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return FileLeases(database.with_name(f"{database.name}-leases"))
    return RowLeases(sessions)


class RowLeases:
    """Leases as rows of ``remote_fetches``, shared by every node of the database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def lease(self, repository_id: int, key: str, seconds: float) -> RowLease:
        return RowLease(self._sessions, repository_id, key, seconds)

    def held(self, repository_id: int, key: str) -> bool:
        with read_session(self._sessions) as db:
            expires = db.scalar(
                select(RemoteFetch.expires_at).where(
                    RemoteFetch.repository_id == repository_id, RemoteFetch.key == key
                )
            )
        return expires is not None and expires > utcnow()


class RowLease:
    """A lease row: its holder renews it, a dead holder's row expires and is taken over."""

    def __init__(
        self, sessions: sessionmaker[Session], repository_id: int, key: str, seconds: float
    ) -> None:
        self._sessions = sessions
        self.repository_id = repository_id
        self.key = key
        self.seconds = seconds
        self.owner = f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"
        self._renewed = time.monotonic()
        self._released = False

    def acquire(self) -> bool:
        """One statement: insert the row, or take over one whose holder let it expire."""
        with write_session(self._sessions) as db:
            now = utcnow()
            row = {"owner": self.owner, "expires_at": self._expiry(now)}
            taken = db.execute(
                insert_for(db)(_FETCHES)
                .values(repository_id=self.repository_id, key=self.key, **row)
                .on_conflict_do_update(
                    index_elements=["repository_id", "key"],
                    set_=row,
                    where=_FETCHES.c.expires_at < now,
                )
                .returning(_FETCHES.c.owner)  # rowcount is -1 here on psycopg
            ).first()
            return taken is not None

    def keep_alive(self) -> None:
        """Renew the lease when a third of it has passed."""
        if time.monotonic() - self._renewed < self.seconds / 3:
            return
        with write_session(self._sessions) as db:
            db.execute(
                self._mine_if(RemoteFetch.owner == self.owner).values(
                    expires_at=self._expiry(utcnow())
                )
            )
        self._renewed = time.monotonic()

    def release_in(self, db: Session) -> None:
        db.execute(self._delete())
        event.listen(db, "after_commit", self._mark_released, once=True)

    def release(self) -> None:
        if self._released:
            return
        with write_session(self._sessions) as db:
            db.execute(self._delete())
        self._released = True

    def _mark_released(self, _db: Session) -> None:
        self._released = True

    def _delete(self) -> Delete:
        return delete(RemoteFetch).where(
            RemoteFetch.repository_id == self.repository_id,
            RemoteFetch.key == self.key,
            RemoteFetch.owner == self.owner,
        )

    def _expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.seconds)

    def _mine_if(self, condition: ColumnElement[bool]) -> Update:
        """An update of this key's lease row where *condition* holds."""
        return update(RemoteFetch).where(
            RemoteFetch.repository_id == self.repository_id,
            RemoteFetch.key == self.key,
            condition,
        )


class FileLeases:
    """Leases as ``flock`` locks on files of *folder*, for the processes of one machine."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def lease(self, repository_id: int, key: str, seconds: float) -> FileLease:
        return FileLease(self._path(repository_id, key))

    def held(self, repository_id: int, key: str) -> bool:
        try:
            fd = os.open(self._path(repository_id, key), os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the shared lock, if taken
        return False

    def _path(self, repository_id: int, key: str) -> Path:
        return self._folder / f"{repository_id}-{hashlib.sha256(key.encode()).hexdigest()}"


class FileLease:
    """An exclusive ``flock`` on one file; its file is removed when the lease ends."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            if _still_named(fd, self._path):
                self._fd = fd
                return True
            # The holder we waited behind removed the file as it released it: the
            # lock is on a file nobody else will open, so take the current one.
            os.close(fd)

    def keep_alive(self) -> None:
        """Nothing to renew: the kernel holds the lock until the process ends."""

    def release_in(self, db: Session) -> None:
        """Released by :meth:`release`, after the commit: a file lock is no part of it."""

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self._path.unlink(missing_ok=True)  # before unlocking: see acquire
        finally:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        try:
            return os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)


def _still_named(fd: int, path: Path) -> bool:
    """Whether *path* still names the file open as *fd*."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
