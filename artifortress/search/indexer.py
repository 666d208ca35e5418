"""Feeding the projection: one package at a time from the truth tables, or all of them.

Rewriting a package's row from the current truth (rather than applying each
event's delta) makes the handler idempotent and order-independent: a
repeated or late event just rewrites the same row.  On PostgreSQL an
advisory lock per package serializes concurrent workers on one package, so
the last writer is always one that read the latest committed state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pluggy
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.db.base import utcnow
from artifortress.db.dialects import is_postgres
from artifortress.db.engine import read_session
from artifortress.outbox.events import REPOSITORY_DELETED, Event
from artifortress.renderings.models import ChangeCounter
from artifortress.search import schema
from artifortress.search.fields import search_fields
from artifortress.search.models import SearchDocument
from artifortress.versions.models import PUBLISHED, Label, Package, Version
from artifortress.versions.views import version_info

#: First key of the advisory locks taken per package (the second is the package id).
_LOCK_SPACE = 0x5EA7
#: Packages re-projected per transaction by a full rebuild.
BATCH = 200


#: A package's change counter: revision and change time (see ``renderings.store``).
Revision = tuple[int, Any]

#: The change counter of a package's own scope; no row: the package has never changed.
_PACKAGE_REVISION = (
    select(ChangeCounter.revision, ChangeCounter.changed_at)
    .select_from(Package)
    .join(
        ChangeCounter,
        (ChangeCounter.repository_id == Package.repository_id)
        & (ChangeCounter.scope == Package.name),
    )
    .where(Package.id == bindparam("package_id"))
)
#: Packages whose projected revision this process remembers; far above one burst's.
_REMEMBERED = 50_000


class SearchIndexer:
    """Internal plugin: keeps ``search_documents`` in step with version events.

    A burst of publishes to one package (a bulk upload, a proxy storing a
    page's files) queues one event per file; the first projection reads
    the state all of them left. Every visible change to a package bumps its
    change counter in the change's own transaction (``artifortress.changes``,
    which the stored renderings rely on), so an event whose package's counter
    is where this process last projected it has nothing new to show: skipped.
    """

    def __init__(self, services: Services) -> None:
        self._sessions = services.sessions
        self._pm = services.plugins
        self._projected: dict[int, Revision] = {}

    @hookimpl
    def artifortress_on_event(self, event: Event) -> None:
        payload = event.payload
        if event.type == REPOSITORY_DELETED and isinstance(payload.get("repository_id"), int):
            with self._sessions.begin() as db:
                db.execute(
                    delete(SearchDocument).where(
                        SearchDocument.repository_id == payload["repository_id"]
                    )
                )
            return
        package_id = payload.get("package_id")
        if isinstance(package_id, int):
            self._project_if_changed(package_id)

    def project_ahead(self, events: Iterable[Event]) -> None:
        """Project the packages of a batch of events at once, before they are handled.

        One write transaction for the batch, each package once, instead of one
        per event (a bulk upload queues one per file). Handling each event
        afterwards then finds its package's counter where it was projected and
        skips it; an event whose package changed again, or whose projection
        here failed, is projected when it is handled, as ever.
        """
        package_ids = sorted(
            {
                e.payload["package_id"]
                for e in events
                if e.type != REPOSITORY_DELETED and isinstance(e.payload.get("package_id"), int)
            }
        )
        with read_session(self._sessions) as db:
            stale = [p for p in package_ids if not self._is_projected(db, p)]
        if not stale:
            return
        with self._sessions.begin() as db:
            revisions = {p: self._revision(db, p) for p in stale}
            for package_id in stale:
                project(db, self._pm, package_id)
        for package_id, revision in revisions.items():
            self._remember(package_id, revision)

    def _project_if_changed(self, package_id: int) -> None:
        # The check first reads only: a package projected ahead (or by an earlier event
        # of its burst) costs no turn at SQLite's write lock, which uploads queue for.
        with read_session(self._sessions) as db:
            if self._is_projected(db, package_id):
                return
        with self._sessions.begin() as db:
            # Read before the state the projection reads: that state is at least as new.
            revision = self._revision(db, package_id)
            if revision is not None and self._projected.get(package_id) == revision:
                return
            project(db, self._pm, package_id)
        self._remember(package_id, revision)

    def _revision(self, db: Session, package_id: int) -> Revision | None:
        row = db.connection().execute(_PACKAGE_REVISION, {"package_id": package_id}).first()
        return (row[0], row[1]) if row is not None else None

    def _is_projected(self, db: Session, package_id: int) -> bool:
        """Whether this process projected the package at its current revision."""
        revision = self._revision(db, package_id)
        return revision is not None and self._projected.get(package_id) == revision

    def _remember(self, package_id: int, revision: Revision | None) -> None:
        """Called once the projection committed: one rolled back is done again."""
        if len(self._projected) >= _REMEMBERED:
            self._projected.clear()
        if revision is not None:
            self._projected[package_id] = revision


def project(db: Session, pm: pluggy.PluginManager, package_id: int) -> bool:
    """Rewrite (or remove) the row of one package from the truth; True if it is indexed."""
    if is_postgres(db):
        db.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, package_id % 2**31)))
    package = db.get(Package, package_id)
    current = current_version(db, package) if package is not None else None
    if package is None or current is None:
        db.execute(delete(SearchDocument).where(SearchDocument.package_id == package_id))
        return False
    fields = search_fields(pm, package.format, version_info(current))
    values = {
        "repository_id": package.repository_id,
        "tenant_id": _tenant_of(db, package.repository_id),
        "format": package.format,
        "name": package.name,
        "display_name": package.display_name,
        "version": current.version,
        "version_id": current.id,
        "published_at": current.published_at,
        "indexed_at": utcnow(),
        **fields,
    }
    # Update, else insert: the dialects' upsert has no cache key and was compiled for
    # every event. Race-free: the write lock (SQLite) or the advisory lock (PostgreSQL)
    # holds other projections of the package off until this transaction ends.
    conn = db.connection()
    where = SearchDocument.package_id == package_id
    if not conn.execute(update(SearchDocument).where(where).values(**values)).rowcount:
        conn.execute(insert(SearchDocument).values(package_id=package_id, **values))
    return True


def current_version(db: Session, package: Package) -> Version | None:
    """What search shows: the published version under ``latest``, else the newest one."""
    labelled = db.scalars(
        select(Version)
        .join(Label, Label.version_id == Version.id)
        .where(Label.package_id == package.id, Label.name == "latest", Version.state == PUBLISHED)
    ).first()
    if labelled is not None:
        return labelled
    return db.scalars(
        select(Version)
        .where(Version.package_id == package.id, Version.state == PUBLISHED)
        .order_by(Version.published_at.desc(), Version.id.desc())
        .limit(1)
    ).first()


def _tenant_of(db: Session, repository_id: int) -> int:
    from artifortress.repos.models import Repository

    repo = db.get(Repository, repository_id)
    assert repo is not None
    return repo.tenant_id


Progress = Callable[[Sequence[int]], Iterable[int]]


def rebuild(
    services: Services,
    *,
    recreate: bool = False,
    progress: Progress = lambda ids: ids,
) -> int:
    """Rebuild the whole projection from the truth tables; returns the packages indexed.

    A missing or broken index (or *recreate*) is dropped and created empty
    first; otherwise rows are rewritten in place, so search keeps answering
    during the rebuild.  Rows of packages without a published version go.
    """
    sessions, pm = services.sessions, services.plugins
    with services.engine.begin() as conn:
        if recreate or schema.problem(conn) is not None:
            schema.recreate(conn)
    with sessions() as db:
        live = select(Version.package_id).where(Version.state == PUBLISHED).distinct()
        package_ids = sorted(db.scalars(live))
    indexed = 0
    batch: list[int] = []
    for package_id in progress(package_ids):
        batch.append(package_id)
        if len(batch) >= BATCH:
            indexed += _project_batch(sessions, pm, batch)
            batch = []
    indexed += _project_batch(sessions, pm, batch)
    with sessions.begin() as db:
        live = select(Version.package_id).where(Version.state == PUBLISHED)
        db.execute(delete(SearchDocument).where(SearchDocument.package_id.not_in(live)))
    return indexed


def _project_batch(
    sessions: sessionmaker[Session], pm: pluggy.PluginManager, package_ids: list[int]
) -> int:
    if not package_ids:
        return 0
    with sessions.begin() as db:
        return sum(project(db, pm, package_id) for package_id in package_ids)
