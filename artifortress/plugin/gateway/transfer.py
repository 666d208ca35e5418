"""Bytes in and out: the request body, ingesting blobs, sending files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import falcon

from artifortress.blobs import services as blobs
from artifortress.blobs.download import Presentation, send_blob
from artifortress.blobs.httpio import body_chunks, declared_length
from artifortress.blobs.store import Expectation
from artifortress.db.engine import sqlite_reads_only
from artifortress.errors import NotFound
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.repos.views import RepoInfo
from artifortress.versions import queries
from artifortress.versions.views import BlobRef


class TransferGateway(GatewayBase):
    """Bytes in (request bodies, ingest) and out (files of blobs and versions)."""

    @property
    def max_package_upload(self) -> int:
        """The limit of one package upload body (``ARTIFORTRESS_MAX_PACKAGE_UPLOAD``)."""
        return self._ctx.services.settings.max_package_upload

    def request_body(self, limit: int | None = None) -> Iterator[bytes]:
        """The request body in bounded chunks; 413 past *limit* (default: the blob limit).

        A body that ends before its ``Content-Length`` raises a 400 instead of
        passing for a complete one, so a disconnect never commits anything.
        """
        limit = self._ctx.services.settings.max_blob_size if limit is None else limit
        declared_length(self._req, limit, "request body")
        return body_chunks(self._req, limit, "request body")

    def end_transaction(self) -> None:
        """Commit what the request did so far (its authorization), before a long receive.

        A writing request's transaction holds SQLite's write lock, or a pooled
        PostgreSQL connection, from its first statement: end it before reading
        a large body into a scratch file, so other uploads proceed meanwhile.
        The next call that needs the database opens a new transaction.
        """
        db = self._ctx.db_if_open
        if db is not None:
            blobs.end_transaction(db)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """A block that only reads: on SQLite it waits for no writer (ends the transaction).

        A writing request's transactions take SQLite's write lock as they
        begin, so concurrent uploads queue even for the questions they ask
        before storing anything ("was this file name used?"). Inside this
        block a transaction begins as a reader instead; it ends with the
        block. Writing inside it is a mistake: the write may fail as busy.
        """
        self.end_transaction()
        reads_only = sqlite_reads_only.set(True)
        try:
            yield
        finally:
            sqlite_reads_only.reset(reads_only)
            self.end_transaction()

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
        bytes flow); call it before changing anything else.
        """
        # The ingest ends the transaction first anyway: looking the repository
        # up must not begin one that waits for SQLite's write lock.
        with self.reading():
            orm_repo = self._repo(repo)
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
        blob = blobs.find_linked_blob(self._ctx.db, self._repo(repo), digest)
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
        found = queries.published_file(self._ctx.db, repo.id, name, version, filename)
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
