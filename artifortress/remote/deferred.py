"""Remote writes committed by one thread of the process, several per transaction.

A cold metadata document is answered as soon as it has come from upstream;
storing it is left to this writer (:class:`~artifortress.remote.documents.DocumentCache`
shares the document with the process's other askers meanwhile, and holds the
fetch's lease until the row is committed, so other processes wait for it).
One thread takes whatever writes are queued and commits them in one
transaction: during a burst of cold requests a dozen stores cost one or two
write transactions, off the requests' path, instead of a dozen each waiting
for SQLite's write lock.  The fetch threads of cold files publish through it
too (:meth:`DeferredWriter.run`: they wait for their commit, the clients
have their bytes already), so a burst of cold files costs a few write
transactions, not one each.

The queue is bounded: past :data:`QUEUE_LIMIT` writes the request stores its
own (the writer is behind; waiting is the back-pressure).  A failed batch is
retried one write per transaction, so one bad write fails alone.  A process
exiting commits what is queued first.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from artifortress.db.engine import write_session

log = logging.getLogger("artifortress.remote")

#: Writes waiting at most; a request finding the queue full writes its own.
QUEUE_LIMIT = 64
#: Seconds a stopping process waits for its queued writes (within gunicorn's graceful 30 s).
EXIT_WAIT = 25.0
#: Writes committed in one transaction at most (it holds SQLite's write lock meanwhile).
BATCH_LIMIT = 16

T = TypeVar("T")

#: What to write, in the writer's transaction.
Write = Callable[[Session], None]
#: Told the outcome once committed (``None``) or failed.
Done = Callable[[BaseException | None], None]

_WRITERS: weakref.WeakSet[DeferredWriter] = weakref.WeakSet()


@dataclasses.dataclass(frozen=True)
class _Queued:
    write: Write
    done: Done


class DeferredWriter:
    """A queue of writes and the one thread that commits them, started on the first."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queued: list[_Queued] = []
        self._writing = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        #: :meth:`close` asked the thread to end once the queue is empty.
        self._closing = False
        _WRITERS.add(self)

    def submit(self, write: Write, done: Done) -> bool:
        """Queue *write*; ``False`` if the queue is full or no thread could take it (at exit).

        The caller then writes it itself.
        """
        with self._changed:
            if len(self._queued) >= QUEUE_LIMIT:
                return False
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._run, name="deferred writes", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # at interpreter exit (Python 3.12+): nobody would commit it
                    return False
                self._thread = thread
            self._queued.append(_Queued(write, done))
            self._changed.notify_all()
        return True

    def later(self, write: Write, done: Done) -> None:
        """Queue *write*; if it cannot be queued, commit it now. *done* is told either way.

        It cannot be when the queue is full (the writer is behind: waiting is the
        back-pressure) or no thread could take it (at interpreter exit).
        """
        if self.submit(write, done):
            return
        try:
            with write_session(self._sessions) as db:
                write(db)
        except Exception as exc:
            _tell(_Queued(write, done), exc)
        else:
            _tell(_Queued(write, done), None)

    def run(self, write: Callable[[Session], T]) -> T:
        """*write*'s result once committed with whatever else is queued; raises what it raised."""
        outcome: list[T] = []
        failure: list[BaseException] = []
        committed = threading.Event()

        def done(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)
            committed.set()

        self.later(lambda db: outcome.append(write(db)), done)
        committed.wait()
        if failure:
            raise failure[0]
        return outcome[-1]  # the last try's: a failed batch runs it again alone

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is committed or failed; ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queued and not self._writing, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, then end the thread (a later write starts another).

        Without it the thread, and with it the writer and its engine's
        connections, lived as long as the process: one more per ``Services``
        built (each test's, each CLI command's).
        """
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._changed:
            self._closing = False

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queued) or self._closing)
                if not self._queued:  # closed: under the lock, so a new write starts a thread
                    self._thread = None
                    return
                batch, self._queued = self._queued[:BATCH_LIMIT], self._queued[BATCH_LIMIT:]
                self._writing = len(batch)
            try:
                self._commit(batch)
            except BaseException as exc:  # the thread ends: nothing queued may wait on for it
                with self._changed:
                    stranded, self._queued = self._queued, []
                    self._thread = None
                for queued in [*batch, *stranded]:
                    _tell(queued, exc)
                raise
            finally:
                with self._changed:
                    self._writing = 0
                    self._changed.notify_all()

    def _commit(self, batch: list[_Queued]) -> None:
        try:
            self._in_one_transaction(batch)
        except Exception:  # one bad write must not fail the others: each on its own
            for queued in batch:
                self._alone(queued)
            return
        for queued in batch:
            _tell(queued, None)

    def _in_one_transaction(self, batch: list[_Queued]) -> None:
        with write_session(self._sessions) as db:
            for queued in batch:
                queued.write(db)

    def _alone(self, queued: _Queued) -> None:
        try:
            with write_session(self._sessions) as db:
                queued.write(db)
        except Exception as exc:
            log.debug("a deferred write failed: %s", exc)  # its caller reports it
            _tell(queued, exc)
        else:
            _tell(queued, None)


def _tell(queued: _Queued, error: BaseException | None) -> None:
    """Give *queued* its outcome; a callback that fails is logged and stops nothing.

    Ending a lease on a database gone away raised through the batch's loop:
    the writes after it were never told (their ``run()`` waited for ever) and
    the writer's thread died.
    """
    try:
        queued.done(error)
    except Exception as exc:  # a lease not ended now expires (rows) or ends with the process
        log.warning("a deferred write's outcome could not be handed over: %r", exc)


def wait_for_deferred(timeout: float | None = None) -> None:
    """Wait until every writer of the process has committed what it was given."""
    for writer in list(_WRITERS):
        writer.wait_idle(timeout)


# A process stopping commits its queued writes first (the writer is a daemon thread).
atexit.register(wait_for_deferred, EXIT_WAIT)
