"""The outbox worker: claims events, runs every ``artifortress_on_event`` handler, records.

Any number of workers may run against PostgreSQL; claims use ``FOR UPDATE SKIP
LOCKED`` in short transactions, so they share the queue and never hold the
same event at once.  On SQLite one worker consumes (a lock file next to the
database enforces it).  Handlers run outside any transaction, each on its
own: one failing handler neither blocks the others nor makes them run again,
because the event remembers which handlers succeeded.  Delivery is at least
once: a worker that dies mid-handler leaves its event to be claimed again
when its lease runs out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from artifortress.blobs.schedule import ScrubSchedule
from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.db.engine import read_session
from artifortress.errors import Conflict
from artifortress.outbox import services as outbox
from artifortress.outbox.events import Event
from artifortress.outbox.models import DEAD, DONE

log = logging.getLogger("artifortress.worker")

#: How often an idle worker deletes old handled events.
PRUNE_EVERY = dt.timedelta(minutes=10)
#: The longest an event waits for a burst of others to end (``worker_quiet_period``).
BURST_MAX_DELAY = 2.0


@dataclasses.dataclass
class WorkerReport:
    handled: int = 0
    retried: int = 0
    dead: int = 0
    deliveries: int = 0
    #: ``--drain`` found another worker consuming this SQLite database and waited for it.
    drained_by_another: bool = False

    def summary(self) -> str:
        if self.drained_by_another:
            return (
                "nothing pending: another worker (on SQLite, the one `artifortress serve` "
                "runs) consumed the outbox"
            )
        return (
            f"{self.handled} events handled, {self.retried} to retry, {self.dead} dead-lettered; "
            f"{self.deliveries} webhook deliveries attempted"
        )


def register_internal_consumers(services: Services) -> None:
    """The built-in event handlers (search index, webhooks), registered as plugins."""
    from artifortress.search.indexer import SearchIndexer
    from artifortress.webhooks.dispatcher import WebhookDispatcher

    pm = services.plugins
    for name, plugin in (
        ("artifortress.search", SearchIndexer(services)),
        ("artifortress.webhooks", WebhookDispatcher(services)),
    ):
        if pm.get_plugin(name) is None:
            pm.register(plugin, name=name)


class Worker:
    """One consumer of the outbox (run several processes to scale out)."""

    def __init__(self, services: Services, worker_id: str | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.report = WorkerReport()
        self._last_prune = utcnow() - PRUNE_EVERY
        #: Running, not draining: new events settle for ``worker_quiet_period`` first.
        self._settling = False
        #: Seconds until a settling burst is to be handled (``None``: none is settling).
        self._settle_in: float | None = None
        self.scrubs = ScrubSchedule(services)
        register_internal_consumers(services)

    def run(self, *, drain: bool = False, stop: threading.Event | None = None) -> WorkerReport:
        """Consume until *stop* is set, or (with *drain*) until nothing is pending."""
        stop = stop or threading.Event()
        try:
            with self._single_consumer():
                log.info("worker %s consuming the outbox%s", self.worker_id, " (drain)" * drain)
                self._settling = not drain  # draining means: everything, now
                while not stop.is_set():
                    if self.step():
                        continue
                    wait = self._idle_wait(drain)
                    if wait is None:
                        break
                    stop.wait(wait)
        except ConsumerBusy:
            if not drain:
                raise
            # Draining means "have everything pending handled": the other worker does it.
            self._wait_until_drained(stop)
        log.info("worker %s stopped: %s", self.worker_id, self.report.summary())
        return self.report

    def _wait_until_drained(self, stop: threading.Event) -> None:
        while not stop.is_set():
            wait = self._idle_wait(drain=True)
            if wait is None:
                self.report.drained_by_another = True
                return
            stop.wait(min(wait, 0.1))

    def step(self) -> int:
        """One round: a batch of events, then due webhook deliveries; returns the work done."""
        from artifortress.webhooks.delivery import deliver_due

        done = self._events()
        deliveries = deliver_due(self.services, self.worker_id)
        self.report.deliveries += deliveries
        self._prune()
        self.scrubs.start_if_due()
        return done + deliveries

    def _events(self) -> int:
        with read_session(self.services.sessions) as db:  # an idle poll reads, takes no lock
            due = outbox.due(db)
        if due is None or self._still_settling(due):
            return 0
        settings = self.settings
        with self.services.sessions.begin() as db:
            batch = outbox.claim(
                db,
                self.worker_id,
                limit=settings.worker_batch,
                lease=settings.worker_lease,
                max_attempts=settings.event_max_attempts,
            )
        self._index_ahead(batch)
        handled = [(claimed, *self._dispatch(claimed)) for claimed in batch]
        # One transaction settles the batch: one write per batch, not per event, beside
        # the API's writers. A crash before it commits delivers the batch again (at
        # least once, as a crash before any settling always did).
        with self.services.sessions.begin() as db:
            states = [self._settle(db, *outcome) for outcome in handled]
        for (claimed, _completed, errors), state in zip(handled, states, strict=True):
            self._count(claimed.event, state, errors)
        return len(batch)

    def _still_settling(self, due: outbox.Due) -> bool:
        """Whether to leave *due* events a little longer: a burst of them may be under way.

        A cold install through a remote publishes dozens of files within a
        second; handled beside it, their events compete with its requests for
        the CPU and SQLite's write lock, and each package's search entry is
        rewritten as its files come.  Handled once no new event came for
        ``worker_quiet_period`` (and never later than :data:`BURST_MAX_DELAY`
        after the first), the burst costs one round.
        """
        quiet = self.settings.worker_quiet_period
        if not self._settling or quiet <= 0:
            return False
        now = utcnow()
        calm_for = (now - due.newest).total_seconds()
        waited = (now - due.oldest).total_seconds()
        if calm_for >= quiet or waited >= BURST_MAX_DELAY:
            return False
        self._settle_in = min(quiet - calm_for, BURST_MAX_DELAY - waited)
        return True

    def _index_ahead(self, batch: list[outbox.Claimed]) -> None:
        """Let the search index project the batch's packages in one transaction.

        Only saves work: each event's handling checks its package again.
        """
        from artifortress.search.indexer import SearchIndexer

        indexer = self.services.plugins.get_plugin("artifortress.search")
        if not isinstance(indexer, SearchIndexer) or len(batch) < 2:
            return
        try:
            indexer.project_ahead(
                c.event for c in batch if "artifortress.search" not in c.completed
            )
        except Exception:  # each event's own handling projects it then, or records the error
            log.warning("projecting a batch of events ahead failed", exc_info=True)

    def _dispatch(self, claimed: outbox.Claimed) -> tuple[list[str], list[str]]:
        """The handlers that completed the event, and the errors of those that failed."""
        return dispatch(self.services.plugins, claimed.event, claimed.completed)

    def _settle(
        self, db: Session, claimed: outbox.Claimed, completed: list[str], errors: list[str]
    ) -> str:
        """Mark the event done, or due again (or dead) after a failure; its new state."""
        event, settings = claimed.event, self.settings
        if not errors:
            outbox.complete(db, event.id, self.worker_id, completed)
            return DONE
        return outbox.fail(
            db,
            event.id,
            self.worker_id,
            completed=completed,
            error="; ".join(errors),
            delay=outbox.backoff(
                event.attempt, settings.event_retry_delay, settings.event_retry_max_delay
            ),
            max_attempts=settings.event_max_attempts,
        )

    def _count(self, event: Event, state: str, errors: list[str]) -> None:
        if state == DONE:
            self.report.handled += 1
        elif state == DEAD:
            self.report.dead += 1
            log.error("event %s (%s) dead-lettered: %s", event.id, event.type, "; ".join(errors))
        else:
            self.report.retried += 1

    def _idle_wait(self, drain: bool) -> float | None:
        """Seconds to sleep before the next round; ``None`` to stop (drained)."""
        from artifortress.webhooks.delivery import pending_deliveries

        poll = self.settings.worker_poll_interval
        if self._settle_in is not None:  # back when the burst has settled
            poll, self._settle_in = max(0.01, min(poll, self._settle_in)), None
        if not drain:
            return poll
        with read_session(self.services.sessions) as db:  # beside serve's worker: no lock
            queue = outbox.backlog(db)
            deliveries, next_delivery = pending_deliveries(db)
        if queue.pending == 0 and deliveries == 0:
            return None
        due = [t for t in (queue.next_due_at, next_delivery) if t is not None]
        until = (min(due) - utcnow()).total_seconds() if due else poll
        return max(0.01, min(poll, until))

    def _prune(self) -> None:
        now = utcnow()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        from artifortress.remote.documents import prune_negative
        from artifortress.webhooks.services import prune as prune_deliveries

        cutoff = now - dt.timedelta(seconds=self.settings.event_retention)
        with self.services.sessions.begin() as db:
            removed = outbox.prune(db, cutoff)
            delivered = prune_deliveries(db, cutoff)
            misses = prune_negative(db, now)
        if removed or delivered:
            log.info(
                "pruned %d handled events and %d delivered webhooks older than %s",
                removed,
                delivered,
                cutoff.isoformat(),
            )
        if misses:
            log.info("pruned %d expired 'not found' entries of remote repositories", misses)

    @contextlib.contextmanager
    def _single_consumer(self) -> Iterator[None]:
        url = make_url(self.settings.database_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            yield
            return
        with _exclusive_lock(Path(f"{url.database}.worker.lock")):
            yield


class ConsumerBusy(Conflict):
    """Another worker holds the SQLite database's consumer lock."""


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on *path*; another holder means another worker runs."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConsumerBusy(
                "another worker already consumes this SQLite database (`artifortress serve` "
                "runs one unless ARTIFORTRESS_EMBEDDED_WORKER=false); the embedded default "
                "runs one worker (use PostgreSQL to run several)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dispatch(
    pm: pluggy.PluginManager, event: Any, already: frozenset[str]
) -> tuple[list[str], list[str]]:
    """Call each ``artifortress_on_event`` implementation not in *already*, isolated.

    Returns the names of the handlers that have now succeeded (including
    *already*) and one error line per handler that raised.
    """
    completed = set(already)
    errors = []
    # pluggy's own call order (last registered first, tryfirst/trylast honoured).
    for impl in reversed(pm.hook.artifortress_on_event.get_hookimpls()):
        name = impl.plugin_name
        if name in completed or impl.hookwrapper or impl.wrapper:
            continue  # wrappers wrap a whole hook call, which this is not
        arguments = {"event": event}
        try:
            impl.function(*[arguments[arg] for arg in impl.argnames])
        except Exception as exc:  # a handler's failure is recorded and retried, never fatal
            log.warning(
                "handler %s failed on event %s (%s)", name, event.id, event.type, exc_info=True
            )
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        completed.add(name)
    return sorted(completed), errors
