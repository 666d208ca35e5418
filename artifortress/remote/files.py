"""Upstream files as published artifacts of a remote repository, fetched once and verified.

A file already in the remote is answered at once.  Otherwise one fetch per
file runs across threads, processes and nodes
(:mod:`~artifortress.remote.singleflight`): the bytes stream into a scratch
file while they are hashed (memory stays at one chunk, whatever the size) and
are checked against the sha256 / npm ``integrity`` the upstream's metadata
announced or, if it announced none, the digest the file's response declares
(``X-Checksum-Sha256``, ``Content-Digest``, ``Digest``).  A mismatch is a 502
and nothing is stored, so the next request fetches again.  Verified bytes go
into the blob plane and are published, or appended for formats with
``append_files``, by the system principal ``remote:<repo key>``, with the
upstream URL and fetch time as provenance.  The repository's policies judge
them as they judge uploads.  No database transaction is open while bytes
flow; the publish is one short transaction.

A file of a deleted version (a purged cache entry), or one whose bytes the
garbage collector took, is fetched again on its next request: if the
upstream's bytes are the ones once served under its name, the version is
restored and the blob stored again; if they differ, the answer is a 502 and
nothing is stored, for an artifact's bytes never change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pluggy
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.blobs.heldfiles import scratch_file
from artifortress.blobs.models import Blob
from artifortress.blobs.services import record_blob
from artifortress.blobs.store import CHUNK_SIZE, BlobInfo, BlobStore, Expectation
from artifortress.db.base import iso, utcnow
from artifortress.db.engine import read_session
from artifortress.errors import Conflict, NotFound
from artifortress.formats import FormatSpec
from artifortress.policy import services as policies
from artifortress.remote import metrics
from artifortress.remote.bounds import FileBounds, Meter
from artifortress.remote.checksums import BadIntegrity, Checksums, declared
from artifortress.remote.client import (
    UpstreamClient,
    UpstreamResponse,
    credentials_for,
    host_of,
    without_credentials,
)
from artifortress.remote.deferred import DeferredWriter
from artifortress.remote.errors import (
    HeldByPolicy,
    UpstreamMismatch,
    UpstreamTooLarge,
    UpstreamUnavailable,
)
from artifortress.remote.leases import Lease
from artifortress.remote.models import stored_key
from artifortress.remote.relay import Relay
from artifortress.remote.singleflight import SingleFlight
from artifortress.repos.models import Repository
from artifortress.repos.services import entity_of
from artifortress.repos.upstreams import Upstream
from artifortress.repos.views import RepoInfo
from artifortress.versions import drafts, lifecycle, queries
from artifortress.versions.models import (
    PUBLISHED,
    QUARANTINED,
    REJECTED,
    TOMBSTONED,
    Artifact,
    Package,
    Version,
)
from artifortress.versions.views import VersionInfo, version_info

log = logging.getLogger("artifortress.remote")

#: How long a request waits for a fetch another one started (large files take long).
FILE_WAIT = 900.0
_SEALED = (PUBLISHED, QUARANTINED, TOMBSTONED, REJECTED)


@dataclasses.dataclass(frozen=True)
class WantedFile:
    """A file of the upstream as the remote repository holds it, and what it must hash to."""

    #: The package's normalized name.
    package: str
    version: str
    filename: str
    sha256: str | None = None
    integrity: str | None = None
    media_type: str = "application/octet-stream"
    #: Version metadata, for a version this file creates.
    metadata: Mapping[str, Any] | None = None
    display_name: str | None = None


@dataclasses.dataclass
class _Looked:
    """What the remote held under a file's name when the file's fetch last looked."""

    #: The digest of the bytes once served under the name (``None``: never served).
    digest: str | None = None
    #: Whether a policy of the repository could refuse or hold the file at publish.
    refusable: bool = True

    def may_release(self, checks: Checksums) -> bool:
        """Whether verified bytes may all go out before they are kept: nothing could refuse them."""
        return not self.refusable and self.digest in (None, f"sha256:{checks.sha256}")


class FileFetcher:
    """Upstream files into the blob plane and the remote repository's versions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: UpstreamClient,
        flights: SingleFlight,
        store: BlobStore,
        formats: Mapping[str, FormatSpec],
        plugins: pluggy.PluginManager,
        bounds: FileBounds,
        writer: DeferredWriter,
    ) -> None:
        self._writer = writer
        self._sessions = sessions
        self._client = client
        self._flights = flights
        self._store = store
        self._formats = formats
        self._plugins = plugins
        self._bounds = bounds

    def lookup(self, db: Session, repo: RepoInfo, wanted: WantedFile) -> VersionInfo | None:
        """The published version holding *wanted* if the remote has it, in the caller's *db*.

        Raises if the version is held by a policy; a deleted version is a miss.
        """
        found = _holding(db, repo, wanted)
        if found is not None:
            metrics.hit(repo.key, metrics.FILE)
        return found

    def fetch(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        url: str,
        wanted: WantedFile,
        request_id: str | None,
    ) -> VersionInfo:
        """Fetch *wanted* from *url* into the remote, once however many ask.

        Call it with no transaction open.
        """
        metrics.miss(repo.key, metrics.FILE)
        looked = _Looked()
        return self._flights.run(
            repo.id,
            _flight_key(wanted),
            produce=lambda lease: self._fetch(
                repo, upstream, url, wanted, lease, looked, request_id
            ),
            settled=lambda: self._settled(repo, wanted, looked),
            lease_seconds=2 * self._client.timeouts.answer,
            max_wait=FILE_WAIT,
        )

    def stream(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        url: str,
        wanted: WantedFile,
        request_id: str | None,
    ) -> VersionInfo | Relay:
        """Like :meth:`fetch`, but the fetching request gets the bytes as they arrive.

        Returns the version when another request fetched the file meanwhile;
        else a :class:`Relay` (the response body) following the fetch, which
        runs on in a thread of its own at the upstream's pace (a slow client
        holds up nobody else), stores and publishes the file. Its last byte
        goes out once the bytes are verified if no policy of the repository
        could refuse them, else once they are published. Errors before the
        first byte (upstream 404, failures) are raised here.
        """
        metrics.miss(repo.key, metrics.FILE)
        looked = _Looked()
        claim = self._flights.claim(
            repo.id,
            _flight_key(wanted),
            settled=lambda: self._settled(repo, wanted, looked),
            lease_seconds=2 * self._client.timeouts.answer,
            max_wait=FILE_WAIT,
        )
        if claim.lease is None:
            return cast(VersionInfo, claim.result)
        lease = claim.lease
        try:
            checks = _checks(url, wanted)
            response = self._open(repo, upstream, url, wanted)
            checks = _declared_by(response, wanted) or checks
        except BaseException as exc:
            claim.finish(error=exc)
            raise
        return Relay(
            lambda path: self._receive(repo, wanted, response, path, checks, lease),
            lambda path: self._keep(repo, url, wanted, path, checks, lease, looked, request_id),
            claim,
            size=response.size,
            filename=wanted.filename,
            host=host_of(url),
            max_wait=FILE_WAIT,
            release_early=lambda: looked.may_release(checks),
        )

    def _settled(self, repo: RepoInfo, wanted: WantedFile, looked: _Looked) -> VersionInfo | None:
        """The version serving *wanted* if one does; notes what the remote holds under its name.

        The leader calls it once it holds the lease, so that note is current
        when the bytes arrive (the lease keeps other fetches of the file out);
        it notes too whether a policy could refuse the file.
        """
        with read_session(self._sessions) as db:
            held = _held(db, repo.id, wanted)
            looked.digest = held.digest if held is not None else None
            looked.refusable = policies.can_refuse(db, repo.id, self._plugins)
            return _serving(db, repo, wanted, held)

    def _fetch(
        self,
        repo: RepoInfo,
        upstream: Upstream,
        url: str,
        wanted: WantedFile,
        lease: Lease,
        looked: _Looked,
        request_id: str | None,
    ) -> VersionInfo:
        checks = _checks(url, wanted)
        response = self._open(repo, upstream, url, wanted)
        checks = _declared_by(response, wanted) or checks
        with scratch_file() as path:
            for _chunk in self._receive(repo, wanted, response, path, checks, lease):
                pass
            return self._keep(repo, url, wanted, path, checks, lease, looked, request_id)

    def _open(
        self, repo: RepoInfo, upstream: Upstream, url: str, wanted: WantedFile
    ) -> UpstreamResponse:
        """The upstream's 200 answer for *url*, its body unread; NotFound, UpstreamUnavailable."""
        host = host_of(url)
        try:
            response = self._client.get(
                url,
                headers={"Accept-Encoding": "identity"},
                credentials=credentials_for(upstream, url),
                whole_deadline=False,
                decode=False,  # the file is the bytes sent, whatever their label
            )
        except UpstreamUnavailable:
            metrics.failed(repo.key, metrics.FILE, "unavailable")
            raise
        if response.status == 200:
            try:
                self._bounds.refuse_announced(host, wanted.filename, response.size)
            except UpstreamTooLarge:
                response.close()
                metrics.failed(repo.key, metrics.FILE, "too_large")
                raise
            return response
        response.close()
        if response.status in (404, 410):
            metrics.fetched(repo.key, metrics.FILE, "not_found")
            raise NotFound(f"{wanted.filename} does not exist upstream ({host})")
        metrics.failed(repo.key, metrics.FILE, "unavailable")
        raise UpstreamUnavailable(
            host, f"upstream {host} answered {response.status} for {wanted.filename}"
        )

    def _receive(
        self,
        repo: RepoInfo,
        wanted: WantedFile,
        response: UpstreamResponse,
        path: Path,
        checks: Checksums,
        lease: Lease,
    ) -> Iterator[bytes]:
        """The body, written to *path* and hashed on the way; raises unless it is as announced.

        Also raises once it is larger than the limit, or arrives too slowly (:mod:`.bounds`).
        """
        host = host_of(response.url)
        meter = Meter(self._bounds, host, wanted.filename)
        try:
            with path.open("wb") as out:
                for chunk in checks.through(response.chunks()):
                    meter.count(len(chunk))
                    out.write(chunk)
                    out.flush()  # a streaming response reads the file as it grows
                    lease.keep_alive()
                    yield chunk
        except UpstreamUnavailable:
            metrics.failed(repo.key, metrics.FILE, "unavailable")
            raise
        except UpstreamTooLarge:
            metrics.failed(repo.key, metrics.FILE, "too_large")
            raise
        finally:
            response.close()
        problem = checks.mismatch()
        if problem is not None:
            metrics.failed(repo.key, metrics.FILE, "mismatch", checks.size)
            raise UpstreamMismatch(
                host,
                f"upstream {host} sent {wanted.filename} with {problem}; nothing was stored",
            )
        metrics.fetched(repo.key, metrics.FILE, "ok", checks.size)

    def _keep(
        self,
        repo: RepoInfo,
        url: str,
        wanted: WantedFile,
        path: Path,
        checks: Checksums,
        lease: Lease,
        looked: _Looked,
        request_id: str | None,
    ) -> VersionInfo:
        """The verified bytes of *path* into the blob plane, then published in the remote."""
        digest = f"sha256:{checks.sha256}"
        if looked.digest not in (None, digest):  # before storing them; the publish checks again
            raise _changed(url, wanted)
        info = self._store.write(_read(path, lease), Expectation(digest=digest, size=checks.size))
        # Metadata may carry user information in a file URL: never sent, never shown.
        provenance = {"upstream": {"url": without_credentials(url), "fetched_at": iso(utcnow())}}
        published = self._publish(repo, wanted, info, provenance, lease, request_id)
        _refuse_held(repo.key, wanted, published.state)
        return published

    def _publish(
        self,
        repo: RepoInfo,
        wanted: WantedFile,
        blob: BlobInfo,
        provenance: dict[str, Any],
        lease: Lease,
        request_id: str | None,
    ) -> VersionInfo:
        """Record the blob and publish (or append) the file, in one short transaction.

        The same transaction ends the lease: the file's one database write,
        committed by the process's deferred writer with those of other files.
        """

        def once(db: Session) -> VersionInfo:
            lease.release_in(db)
            orm_repo = entity_of(db, repo)
            caller = Caller(_system_principal(orm_repo), request_id)
            record_blob(db, orm_repo, blob, self._store)
            changes.of(db).audit(
                caller, "blob.ingest", repo_key=repo.key, target=blob.digest, size=blob.size
            )
            return self._place(db, caller, orm_repo, wanted, blob, provenance)

        # With the other files of a burst, in one transaction (see remote.deferred).
        try:
            return self._writer.run(once)
        except Conflict:
            # A concurrent fetch of another file of the version published it first:
            # this file is now appended to it (or refused, as for a sequential one).
            return self._writer.run(once)

    def _place(
        self,
        db: Session,
        caller: Caller,
        repo: Repository,
        wanted: WantedFile,
        blob: BlobInfo,
        provenance: dict[str, Any],
    ) -> VersionInfo:
        entry = drafts.ArtifactInput(
            filename=wanted.filename,
            digest=blob.digest,
            size=blob.size,
            media_type=wanted.media_type,
            metadata=provenance,
        )
        existing = None
        if _held(db, repo.id, wanted) is not None:  # the usual miss costs one plain row
            existing = queries.find_version(db, repo.id, wanted.package, wanted.version, _SEALED)
        if existing is None:
            published = drafts.publish_new(
                db,
                caller,
                repo,
                package=wanted.package,
                version=wanted.version,
                files=[entry],
                plugins=self._plugins,
                display_name=wanted.display_name,
                metadata={**(wanted.metadata or {}), **provenance},
            )
            return version_info(published)
        held = _artifact(existing, wanted.filename)
        if held is not None and held.digest != blob.digest:
            raise _changed(provenance["upstream"]["url"], wanted)
        _refuse_held(repo.key, wanted, existing.state)
        if existing.state == TOMBSTONED:  # fetched again (a purged cache entry)
            lifecycle.restore_cached(db, caller, existing)
            db.flush()  # published before a file joins it
        if held is not None:  # the same bytes again: their blob is back
            return version_info(existing)
        spec = self._formats.get(repo.format)
        if spec is not None and spec.append_files:
            drafts.add_artifacts(db, caller, existing, [entry], self._plugins)
            return version_info(existing)
        raise Conflict(
            f"{wanted.package} {wanted.version} of {repo.key} has no file {wanted.filename}, "
            f"and {repo.format} versions take no files after publication"
        )


def _flight_key(wanted: WantedFile) -> str:
    return stored_key(f"file:{wanted.package}/{wanted.version}/{wanted.filename}")


def _checks(url: str, wanted: WantedFile) -> Checksums:
    """What the bytes must hash to; a malformed promise is the upstream's fault (502)."""
    try:
        return Checksums(wanted.sha256, wanted.integrity)
    except BadIntegrity as exc:
        host = host_of(url)
        raise UpstreamMismatch(host, f"upstream {host}: {exc}") from None


def _declared_by(response: UpstreamResponse, wanted: WantedFile) -> Checksums | None:
    """What the response says its body hashes to, if the metadata promised nothing.

    Generic upstreams have no metadata, but their file servers often declare a
    digest (``X-Checksum-Sha256``, ``Content-Digest``, ``Digest``): verified
    like a promise, a mismatch refused. ``None`` if nothing is declared.
    """
    if wanted.sha256 or wanted.integrity:
        return None
    sha256, integrity = declared(response.headers)
    if sha256 is None and integrity is None:
        return None
    try:
        return Checksums(sha256, integrity)
    except BadIntegrity as exc:
        response.close()
        host = host_of(response.url)
        raise UpstreamMismatch(host, f"upstream {host}: {exc}") from None


#: What the remote holds under a file's name, asked before every fetch: one plain row.
_HELD = (
    select(Version.state, Artifact.digest, Blob.condemned_at, Blob.collected_at)
    .select_from(Package)
    .join(Version, Version.package_id == Package.id)
    .outerjoin(
        Artifact,
        (Artifact.version_id == Version.id) & (Artifact.filename == bindparam("filename")),
    )
    .outerjoin(Blob, Blob.digest == Artifact.digest)
    .where(
        Package.repository_id == bindparam("repository_id"),
        Package.name == bindparam("package"),
        Version.version == bindparam("version"),
        Version.state.in_(_SEALED),
    )
)


@dataclasses.dataclass(frozen=True)
class _Held:
    """The sealed version of a wanted file's name, and the file's digest if it has one."""

    state: str
    digest: str | None
    #: The bytes are there: not condemned or collected by the garbage collector.
    bytes_held: bool


def _held(db: Session, repository_id: int, wanted: WantedFile) -> _Held | None:
    params = {
        "repository_id": repository_id,
        "package": wanted.package,
        "version": wanted.version,
        "filename": wanted.filename,
    }
    row = db.connection().execute(_HELD, params).first()
    if row is None:
        return None
    state, digest, condemned_at, collected_at = row
    return _Held(state, digest, condemned_at is None and collected_at is None)


def _holding(db: Session, repo: RepoInfo, wanted: WantedFile) -> VersionInfo | None:
    """The version of *wanted* if it serves the file; raises if a policy holds it.

    A held version is refused whichever of its files is asked: one it lacks
    would be refused at publish, after a download for nothing. A deleted
    version, or a file whose bytes the collector took, is a miss: the file is
    fetched again (and must be what it was).
    """
    return _serving(db, repo, wanted, _held(db, repo.id, wanted))


def _serving(
    db: Session, repo: RepoInfo, wanted: WantedFile, held: _Held | None
) -> VersionInfo | None:
    """The version holding *wanted*'s file if it serves it (see :func:`_holding`).

    Misses, the common case when this is asked, cost the one plain row; only
    a hit loads the version.
    """
    if held is None:
        return None
    _refuse_held(repo.key, wanted, held.state)
    if held.digest is None or held.state == TOMBSTONED or not held.bytes_held:
        return None
    found = queries.find_version(db, repo.id, wanted.package, wanted.version, _SEALED)
    return version_info(found) if found is not None else None


def _artifact(version: Version | None, filename: str) -> Artifact | None:
    if version is None:
        return None
    return next((a for a in version.artifacts if a.filename == filename), None)


def _changed(url: str, wanted: WantedFile) -> UpstreamMismatch:
    host = host_of(url)
    return UpstreamMismatch(
        host,
        f"the upstream ({host}) changed {wanted.filename} after it was cached: refusing, "
        "an artifact's bytes never change; nothing was stored",
    )


def _system_principal(repo: Repository) -> Principal:
    """Who publishes what a remote fetches: named after the repository in the audit log."""
    return Principal(tenant_id=repo.tenant_id, name=f"remote:{repo.key}")


def _refuse_held(repo_key: str, wanted: WantedFile, state: str) -> None:
    """Raise if a policy holds the version in quarantine or rejected it."""
    what = f"{wanted.package} {wanted.version} of {repo_key}"
    if state == QUARANTINED:
        raise HeldByPolicy(
            f"{what} came from upstream and is held in quarantine by a repository policy; "
            "a tenant administrator may release it (/v1/quarantine)"
        )
    if state == REJECTED:
        raise HeldByPolicy(f"{what} came from upstream and was rejected by a repository policy")


def _read(path: Path, lease: Lease) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            lease.keep_alive()  # copying gigabytes into the store takes a while too
            yield chunk
