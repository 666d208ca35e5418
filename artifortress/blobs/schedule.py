"""The periodic scrub the event worker runs when ``ARTIFORTRESS_SCRUB_INTERVAL`` is set.

Off by default: a scrub reads every byte in the store (on S3, a GET of every
object), which an operator should choose to pay for, and how often.  When set,
each worker looks at most every few minutes whether a scrub is due, measured
from the last one any process started (the ``blob.scrub.start`` and
``blob.scrub`` audit entries, so restarts and ``artifortress scrub`` runs
count).  The decision is taken under a PostgreSQL advisory lock, so of several
workers only one starts it; SQLite has one worker.  The scrub runs on a thread
of its own, so events keep flowing while it reads the store.  It moves
corrupt objects aside but never removes orphans: that stays an operator's
explicit ``artifortress scrub --remove-orphans``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.audit.models import AuditEntry
from artifortress.auth.principal import Caller, Principal
from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.db.dialects import is_postgres

log = logging.getLogger("artifortress.blobs.scrub")

#: Scrub audit actions: a run started (by a worker), a run finished (any process).
STARTED, FINISHED = "blob.scrub.start", "blob.scrub"
#: How often a worker looks whether a scrub is due (or the interval, if shorter).
LOOK_EVERY = dt.timedelta(minutes=5)
#: Any constant shared by every worker: the key of the PostgreSQL advisory lock.
_LOCK_KEY = 0x5C2B


class ScrubSchedule:
    """Starts a background scrub when one is due; does nothing when the interval is 0."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._interval = dt.timedelta(seconds=services.settings.scrub_interval)
        self._next_look = utcnow()
        self._running: threading.Thread | None = None

    def start_if_due(self) -> bool:
        """Called on every worker round; cheap unless it is time to look."""
        now = utcnow()
        if not self._interval or now < self._next_look or self._busy():
            return False
        self._next_look = now + min(LOOK_EVERY, self._interval)
        if not self._claim(now):
            return False
        self._running = threading.Thread(target=self._run, name="scrub", daemon=True)
        self._running.start()
        return True

    def _busy(self) -> bool:
        return self._running is not None and self._running.is_alive()

    def _claim(self, now: dt.datetime) -> bool:
        """Record a start unless a scrub started or finished within the interval."""
        with self._services.sessions.begin() as db:
            if is_postgres(db):
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            last = last_scrub(db)
            if last is not None and now - last < self._interval:
                return False
            changes.of(db).audit(self._caller(), STARTED)
        return True

    def _run(self) -> None:
        from artifortress.blobs.command import scrub_and_audit

        try:
            report = scrub_and_audit(
                self._services, dry_run=False, remove_orphans=False, client_addr="worker"
            )
        except Exception:  # the worker goes on; the next interval tries again
            log.exception("the scheduled scrub failed")
            return
        if not report.healthy:
            for line in report.details():
                log.error("scrub: %s", line)

    def _caller(self) -> Caller:
        return Caller(Principal.operator(self._services.default_tenant_id()), client_addr="worker")

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running scrub (tests; a stopping worker lets it die with the process)."""
        if self._running is not None:
            self._running.join(timeout)


def last_scrub(db: Session) -> dt.datetime | None:
    """When the latest scrub started or finished, by any process."""
    latest = (
        select(AuditEntry.at)
        .where(AuditEntry.action.in_((STARTED, FINISHED)))
        .order_by(AuditEntry.at.desc())
        .limit(1)
    )
    return db.scalar(latest)
