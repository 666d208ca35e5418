"""Upstream metadata (index pages, packuments), cached per remote repository for its TTL.

A document younger than the remote's ``metadata_ttl`` is served from
``remote_documents`` without asking upstream.  An older one is revalidated
with the upstream's ``ETag`` / ``Last-Modified`` (a 304 keeps the body), one
fetch at a time per key (:mod:`~artifortress.remote.singleflight`).  If
upstream fails or times out, the old copy is served, marked stale
(stale-if-error); without a copy the caller gets :class:`UpstreamUnavailable`.
A 404 or 410 is remembered briefly (:data:`NEGATIVE_TTL`), so a client probing
for names that do not exist does not reach upstream every time.

A hit reads the row's few small columns; the body (an npm packument can weigh
megabytes: reading 5 MB from PostgreSQL took over 100 ms) comes from a
per-process cache keyed by the row's fetch (``fetched_at``, ``ETag``), so a
new fetch is never answered with an old body.

A new body is answered as soon as it arrives: its row is committed by the
process's :class:`~artifortress.remote.deferred.DeferredWriter`, a few at a
time, off the request's path (a cold install asks for a dozen pages within
milliseconds).  Until then the process's askers get the body from the
single-flight and the fetch's lease stays held, so other processes wait for
the row rather than fetch again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import NamedTuple, Protocol, cast
from urllib.parse import urljoin

from sqlalchemy import LargeBinary, bindparam, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from artifortress.db.base import UtcDateTime, utcnow
from artifortress.db.engine import SessionOrOpener, read_session, session_of, write_session
from artifortress.db.pooled import PooledRead
from artifortress.errors import NotFound
from artifortress.recent import RecentCache
from artifortress.remote import metrics
from artifortress.remote.client import UpstreamClient, credentials_for, host_of
from artifortress.remote.deferred import DeferredWriter, Write
from artifortress.remote.errors import UpstreamUnavailable
from artifortress.remote.leases import Lease
from artifortress.remote.models import RemoteDocument, stored_key
from artifortress.remote.singleflight import Claim, SingleFlight
from artifortress.repos.upstreams import Upstream
from artifortress.repos.views import RepoInfo

log = logging.getLogger("artifortress.remote")

#: How long an upstream's "no such document" is believed (at most the remote's TTL).
NEGATIVE_TTL = 60
#: The largest metadata document accepted from upstream.
MAX_DOCUMENT = 128 * 1024**2
#: Bytes of document bodies each process keeps for hits.
BODIES_KEPT = 64 * 1024**2


@dataclasses.dataclass(frozen=True)
class UpstreamDocument:
    """A metadata document of a remote's upstream, fresh or from the cache."""

    body: bytes
    content_type: str
    #: When these bytes came from upstream (a revalidation that found them current keeps it).
    fetched_at: dt.datetime
    #: Served from the cache because upstream failed (stale-if-error).
    stale: bool
    #: Where it came from.
    url: str


class DocumentCache:
    """Upstream metadata through ``remote_documents``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: UpstreamClient,
        flights: SingleFlight,
        writer: DeferredWriter,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._flights = flights
        self._writer = writer
        self._bodies: RecentCache[bytes] = RecentCache(len, BODIES_KEPT)
        self._heads = PooledRead(sessions.kw["bind"], _LOOKUP)

    def lookup(
        self,
        db: SessionOrOpener,
        repo: RepoInfo,
        upstream: Upstream,
        path: str,
        key: str | None = None,
    ) -> UpstreamDocument | None:
        """The cached document while it is fresh (NotFound for a fresh 404), else ``None``.

        In the caller's session *db*: a hit costs one indexed read of a few
        columns; the body comes from this process's cache when it holds it.
        *db* may be a function opening the session, for a request that has read
        nothing yet: the row is then read on a pooled connection, outside any
        session (:mod:`artifortress.db.pooled`), and a hit whose body this
        process holds opens none.
        """
        stored = stored_key(key or path)
        url = urljoin(upstream.url, path)
        row = self._head(db, repo.id, stored)
        if row is None or not _fresh(row, upstream, url):
            return None
        metrics.hit(repo.key, metrics.DOCUMENT)
        fetch = _fetch_of(row)
        body = self._bodies.get(fetch)
        if body is None:
            body = _select_body(session_of(db), repo.id, stored)  # once per fetch and process
            self._bodies.put(fetch, body)
        return UpstreamDocument(body, row.content_type, row.fetched_at, False, url)

    def _head(self, db: SessionOrOpener, repository_id: int, key: str) -> _Cached | None:
        if isinstance(db, Session):
            return _select_head(db, repository_id, key)
        row = self._heads.first(repository_id=repository_id, key=key)
        return _Head(*row) if row is not None else None

    def fetch(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        path: str,
        *,
        accept: str | None = None,
        key: str | None = None,
    ) -> UpstreamDocument:
        """The document at *path* under the upstream URL, (re)fetched unless one just was.

        Call it with no transaction open; raises NotFound or UpstreamUnavailable.
        A new body is answered at once: its row is committed by the process's
        deferred writer (this process's askers get the body meanwhile, other
        processes wait for the commit).
        """
        url = urljoin(upstream.url, path)
        stored = stored_key(key or path)
        metrics.miss(repo.key, metrics.DOCUMENT)
        timeouts = self._client.timeouts
        loaded: list[RemoteDocument | None] = [None]  # the copy settled() last read

        def settled() -> UpstreamDocument | None:
            loaded[0] = self._load(repo.id, stored)
            return _current(loaded[0], upstream, url)

        claim = self._flights.claim(
            repo.id,
            stored_key(f"document:{key or path}"),
            settled=settled,
            lease_seconds=2 * timeouts.answer,
            max_wait=2 * timeouts.answer,
        )
        if claim.lease is None:
            return cast(UpstreamDocument, claim.result)
        try:
            # The leader looked (settled) once it held the lease: that copy is current.
            document, write = self._refresh(repo, upstream, url, stored, accept, loaded[0], claim)
        except BaseException as exc:
            claim.finish(error=exc)
            raise
        if write is None:
            claim.finish(document)
        else:
            self._store_later(write, document, claim)
        return document

    def _refresh(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        url: str,
        key: str,
        accept: str | None,
        cached: RemoteDocument | None,
        claim: Claim[UpstreamDocument],
    ) -> tuple[UpstreamDocument, Write | None]:
        """The upstream's answer (and its row's write, if new), or the copy if upstream fails."""
        assert claim.lease is not None
        try:
            return self._fetch(repo, upstream, url, key, accept, cached, claim.lease)
        except UpstreamUnavailable as exc:
            metrics.failed(repo.key, metrics.DOCUMENT, "unavailable")
            if cached is None or cached.status != 200:
                raise
            log.warning("%s; serving the copy of %s fetched at %s", exc, key, cached.fetched_at)
            metrics.served_stale(repo.key)
            return _document(cached, url, stale=True), None

    def _store_later(
        self, write: Write, document: UpstreamDocument, claim: Claim[UpstreamDocument]
    ) -> None:
        """Commit *write* through the deferred writer (now, if it is behind); ends the flight."""
        claim.share(document)

        def done(error: BaseException | None) -> None:
            if error is not None:  # the next request fetches it again
                log.warning("%s was answered but could not be stored: %s", document.url, error)
            claim.finish(None if error else document, error)

        self._writer.later(write, done)

    def _fetch(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        url: str,
        key: str,
        accept: str | None,
        cached: RemoteDocument | None,
        lease: Lease,
    ) -> tuple[UpstreamDocument, Write | None]:
        """The upstream's answer; a new body comes with its row's write (which ends the lease)."""
        headers = {"Accept": accept or "*/*", "Accept-Encoding": "gzip"}
        if cached is not None and cached.status == 200:
            headers.update(_validators(cached))
        response = self._client.get(
            url, headers=headers, credentials=credentials_for(upstream, url)
        )
        host = host_of(url)
        try:
            if response.status == 304 and cached is not None and cached.status == 200:
                metrics.fetched(repo.key, metrics.DOCUMENT, "not_modified")
                return _document(self._confirm(repo.id, key, lease), url, stale=False), None
            if response.status in (404, 410):
                metrics.fetched(repo.key, metrics.DOCUMENT, "not_found")
                with write_session(self._sessions) as db:
                    _upsert(db, lease, _row(repo.id, key, 404, b"", "", None, None))
                raise NotFound(f"{key} does not exist upstream ({host})")
            if response.status != 200:
                raise UpstreamUnavailable(host, f"upstream {host} answered {response.status}")
            body = response.read(MAX_DOCUMENT)
            content_type = response.headers.get("Content-Type", "application/octet-stream")
            metrics.fetched(repo.key, metrics.DOCUMENT, "ok", len(body))
            row = _row(
                repo.id,
                key,
                200,
                body,
                content_type,
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
            # This process's next hits need not read the body back from the database.
            self._bodies.put(_fetch_of(row), body)
            return _document(row, url, stale=False), lambda db: _upsert(db, lease, row)
        finally:
            response.close()

    def _load(self, repository_id: int, key: str) -> RemoteDocument | None:
        with read_session(self._sessions) as db:
            return _select(db, repository_id, key)

    def _confirm(self, repository_id: int, key: str, lease: Lease) -> RemoteDocument:
        """Upstream says the copy is current: it is fresh again for a TTL."""
        with write_session(self._sessions) as db:
            lease.release_in(db)
            db.execute(
                update(RemoteDocument)
                .where(RemoteDocument.repository_id == repository_id, RemoteDocument.key == key)
                .values(checked_at=utcnow())
            )
        found = self._load(repository_id, key)
        assert found is not None  # rows go only with their repository
        return found


#: A hit's one read, on every request for a remote's metadata: built once, no body.
_LOOKUP = select(
    RemoteDocument.repository_id,
    RemoteDocument.key,
    RemoteDocument.status,
    RemoteDocument.content_type,
    RemoteDocument.etag,
    RemoteDocument.fetched_at,
    RemoteDocument.checked_at,
).where(
    RemoteDocument.repository_id == bindparam("repository_id"),
    RemoteDocument.key == bindparam("key"),
)
_BODY = select(RemoteDocument.body).where(
    RemoteDocument.repository_id == bindparam("repository_id"),
    RemoteDocument.key == bindparam("key"),
)


def _row(
    repository_id: int,
    key: str,
    status: int,
    body: bytes,
    content_type: str,
    etag: str | None,
    last_modified: str | None,
) -> RemoteDocument:
    """The row of an upstream answer received now (not added to any session)."""
    now = utcnow()
    return RemoteDocument(
        repository_id=repository_id,
        key=key,
        status=status,
        body=body,
        content_type=content_type[:255],
        etag=etag[:255] if etag else None,
        last_modified=last_modified[:64] if last_modified else None,
        fetched_at=now,
        checked_at=now,
    )


_STORED_COLUMNS = (
    "status",
    "body",
    "content_type",
    "etag",
    "last_modified",
    "fetched_at",
    "checked_at",
)


#: Every cold page and packument runs it: plain SQL that SQLite and PostgreSQL both speak,
#: built once (the dialects' ``insert ... on_conflict_do_update`` has no cache key, so
#: SQLAlchemy compiled it anew on every call).
_UPSERT = text(
    'INSERT INTO remote_documents (repository_id, "key", status, body, content_type, etag, '
    "last_modified, fetched_at, checked_at) VALUES (:repository_id, :key, :status, :body, "
    ":content_type, :etag, :last_modified, :fetched_at, :checked_at) "
    'ON CONFLICT (repository_id, "key") DO UPDATE SET status = excluded.status, '
    "body = excluded.body, content_type = excluded.content_type, etag = excluded.etag, "
    "last_modified = excluded.last_modified, fetched_at = excluded.fetched_at, "
    "checked_at = excluded.checked_at"
).bindparams(
    bindparam("body", type_=LargeBinary()),
    bindparam("fetched_at", type_=UtcDateTime()),
    bindparam("checked_at", type_=UtcDateTime()),
)


def _upsert(db: Session, lease: Lease, row: RemoteDocument) -> None:
    """Store *row* over the key's last one, ending *lease* with the same transaction."""
    lease.release_in(db)
    values = {column: getattr(row, column) for column in _STORED_COLUMNS}
    db.execute(_UPSERT, {"repository_id": row.repository_id, "key": row.key, **values})


def _select_head(db: Session, repository_id: int, key: str) -> _Cached | None:
    """The cached document's columns but its body (plain row, no ORM), or ``None``."""
    params = {"repository_id": repository_id, "key": key}
    return db.connection().execute(_LOOKUP, params).first()


class _Head(NamedTuple):
    """The row :data:`_LOOKUP` reads, as read on a pooled connection."""

    repository_id: int
    key: str
    status: int
    content_type: str
    etag: str | None
    fetched_at: dt.datetime
    checked_at: dt.datetime


def _select_body(db: Session, repository_id: int, key: str) -> bytes:
    params = {"repository_id": repository_id, "key": key}
    return bytes(db.connection().execute(_BODY, params).scalar_one() or b"")


def _select(db: Session, repository_id: int, key: str) -> RemoteDocument | None:
    query = select(RemoteDocument).where(
        RemoteDocument.repository_id == repository_id, RemoteDocument.key == key
    )
    return db.scalar(query)


class _Cached(Protocol):
    """What deciding a hit reads of a cached document: its row, or the row without its body."""

    @property
    def repository_id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def fetched_at(self) -> dt.datetime: ...
    @property
    def checked_at(self) -> dt.datetime: ...


def _fetch_of(row: _Cached) -> tuple[object, ...]:
    """What names one fetch of a document: a new fetch never matches an old body."""
    return (row.repository_id, row.key, row.fetched_at, row.etag)


def _current(
    cached: RemoteDocument | None, upstream: Upstream, url: str
) -> UpstreamDocument | None:
    """The cached document while it is fresh (NotFound for a fresh 404); else ``None``."""
    if cached is None or not _fresh(cached, upstream, url):
        return None
    return _document(cached, url, stale=False)


def _fresh(cached: _Cached, upstream: Upstream, url: str) -> bool:
    """Whether *cached* is younger than its TTL; raises NotFound for a fresh 404."""
    ttl = (
        upstream.metadata_ttl if cached.status == 200 else min(NEGATIVE_TTL, upstream.metadata_ttl)
    )
    if utcnow() - cached.checked_at >= dt.timedelta(seconds=ttl):
        return False
    if cached.status != 200:
        raise NotFound(f"{cached.key} does not exist upstream ({host_of(url)})")
    return True


def _document(row: RemoteDocument, url: str, *, stale: bool) -> UpstreamDocument:
    return UpstreamDocument(row.body, row.content_type, row.fetched_at, stale, url)


def _validators(cached: RemoteDocument) -> dict[str, str]:
    headers = {}
    if cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    return headers


def prune_negative(db: Session, now: dt.datetime) -> int:
    """Delete "no such document" entries no request will believe again; how many went.

    Each name a client asks for and upstream lacks leaves one: without this,
    probing random names would grow the table without end.
    """
    cutoff = now - dt.timedelta(seconds=NEGATIVE_TTL)
    gone = db.execute(
        delete(RemoteDocument).where(
            RemoteDocument.status != 200, RemoteDocument.checked_at < cutoff
        )
    )
    return int(getattr(gone, "rowcount", 0) or 0)
