"""Bytes in and out: the request body, ingesting blobs, sending files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import falcon

from artifortress.blobs import services as blobs
from artifortress.blobs.download import Presentation, send_blob
from artifortress.blobs.request_body import RequestBody, read_body
from artifortress.blobs.store import BlobStream, Expectation
from artifortress.errors import NotFound
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.plugin.gateway.transactions import reading_transaction, writes
from artifortress.repos.kinds import refuse_unless_hosted
from artifortress.repos.views import RepoInfo
from artifortress.versions import queries
from artifortress.versions.views import BlobRef


class TransferGateway(GatewayBase):
    """Bytes in (request bodies, ingest) and out (files of blobs and versions)."""

    @property
    def max_package_upload(self) -> int:
        """The limit of one package upload body (``ARTIFORTRESS_MAX_PACKAGE_UPLOAD``)."""
        return self._ctx.services.settings.max_package_upload

    def request_body(self, limit: int | None = None) -> RequestBody:
        """The request body: iterate it in chunks (at most 1 MiB) or ``read(size)`` it.

        413 past *limit* (default: the blob limit), announced or while it
        streams, chunked or not; a body that ends before its ``Content-Length``
        or breaks its chunked encoding is a 400, so a disconnect never commits
        anything.  Errors are answered in the client's protocol.
        """
        limit = self._ctx.services.settings.max_blob_size if limit is None else limit
        return RequestBody(self._req, limit)

    def read_body(self, limit: int) -> bytes:
        """The whole (small) request body, such as a JSON document; 413 past *limit*."""
        return read_body(self._req, limit)

    @writes
    def ingest(
        self,
        repo: RepoInfo,
        chunks: Iterable[bytes],
        *,
        digest: str | None = None,
        size: int | None = None,
    ) -> BlobRef:
        """Store bytes into *repo*: hashed while written, verified, linked; 400 on mismatch.

        Commits the request's transaction so far first (no lock is held while
        bytes flow); call it before changing anything else. 405 for a remote or
        virtual *repo* (see ``upload_target()``).
        """
        refuse_unless_hosted(repo.kind, repo.key)
        with reading_transaction(self._ctx):  # the ingest ends it first anyway:
            orm_repo = self._repo(repo)  # no waiting for SQLite's write lock to look it up
        info = blobs.ingest(
            self._ctx.db,
            self._ctx.caller,
            self._ctx.services.blobs,
            orm_repo,
            chunks,
            Expectation(digest=digest, size=size),
        )
        return BlobRef(info.digest, info.size)

    def is_stored(self, digest: str) -> bool:
        """Whether the blob's bytes are in the store: a stat or HEAD, never a read.

        A protocol that answers an identical re-upload without taking the
        bytes asks this first, and ingests them when they are gone (a lost
        blob, or one ``artifortress scrub`` moved aside), which heals it.
        """
        return self._ctx.services.blobs.size_of(digest) is not None

    def blob(self, repo: RepoInfo, digest: str) -> BlobRef | None:
        """The blob *digest* if *repo* holds it (uploaded or linked there), else ``None``."""
        try:
            found = blobs.find_linked_blob(self._ctx.db, repo, digest)
        except NotFound:
            return None
        return BlobRef(found.digest, found.size)

    def open_blob(self, repo: RepoInfo, digest: str) -> Iterator[bytes]:
        """The bytes of a blob *repo* holds, in chunks (404 if it holds none).

        For a protocol that assembles a blob from pieces it stored earlier (OCI's
        chunked uploads): pass the chunks on to :meth:`ingest`.
        """
        blobs.find_linked_blob(self._ctx.db, repo, digest)  # 404 now, not later
        return _closing(self._ctx.services.blobs.open(digest))

    @writes
    def link_blob(self, repo: RepoInfo, digest: str) -> BlobRef | None:
        """Link a blob the caller may already read in some repository into *repo*.

        No bytes move (OCI's cross-repository mount, or a dedupe before an
        upload). ``None`` when no repository the caller may read holds it (a
        digest alone never grants bytes), or its bytes are missing from the
        store: the client then uploads them. 405 for a remote or virtual *repo*.
        """
        refuse_unless_hosted(repo.kind, repo.key)
        store = self._ctx.services.blobs
        found = blobs.any_blob(self._ctx.db, digest)
        if found is None:
            return None
        info = blobs.deduplicate(
            self._ctx.db, self._ctx.caller, store, self._repo(repo), digest, found.size
        )
        return BlobRef(info.digest, info.size) if info is not None else None

    def send_file(
        self,
        resp: falcon.Response,
        repo: RepoInfo,
        digest: str,
        *,
        media_type: str = "application/octet-stream",
        filename: str | None = None,
    ) -> None:
        """Answer GET/HEAD with the bytes of a blob *repo* holds (ranges, ETag, 304)."""
        blob = blobs.find_linked_blob(self._ctx.db, repo, digest)  # no Repository row needed
        presentation = Presentation(
            media_type, filename, self._ctx.services.settings.download_presign_ttl
        )
        send_blob(
            self._req,
            resp,
            self._ctx.services.blobs,
            blob,
            presentation,
            self._ctx.services.handoff(digest),
        )

    def send_artifact(
        self,
        resp: falcon.Response,
        repo: RepoInfo,
        name: str,
        version: str,
        filename: str,
        *,
        media_type: str | None = None,
        as_attachment: bool = True,
    ) -> None:
        """Answer GET/HEAD with file *filename* of published *version* of *name* (404 if none).

        The download path of every format: one query, no version loaded.
        *media_type* overrides the one stored with the file.
        """
        found = self._published_file(repo, name, version, filename)
        if found is None:
            raise NotFound(f"no file {filename} of {name} {version} in {repo.key}")
        presentation = Presentation(
            media_type or found.media_type,
            filename if as_attachment else None,
            self._ctx.services.settings.download_presign_ttl,
        )
        send_blob(
            self._req,
            resp,
            self._ctx.services.blobs,
            found,
            presentation,
            self._ctx.services.handoff(found.digest),
        )

    def _published_file(
        self, repo: RepoInfo, name: str, version: str, filename: str
    ) -> queries.PublishedFile | None:
        """The file's row: on a pooled connection while the request has read nothing else."""
        ctx = self._ctx
        pooled = ctx.services.published_files
        if ctx.db_if_open is not None or pooled is None:
            return queries.published_file(ctx.db, repo.id, name, version, filename)
        row = pooled.first(repository_id=repo.id, package=name, version=version, filename=filename)
        return queries.PublishedFile(*row) if row is not None else None


def _closing(stream: BlobStream) -> Iterator[bytes]:
    try:
        yield from stream
    finally:
        stream.close()
