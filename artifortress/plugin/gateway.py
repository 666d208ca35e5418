"""``Gateway``: everything a format plugin may ask of the core, bound to one request.

A plugin never touches tables or the blob store directly; it calls these
methods, which check permissions, audit, keep the outbox and renderings in
step, and answer in views rather than ORM objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import falcon
from sqlalchemy import select

from artifortress.auth import services as auth
from artifortress.auth import users
from artifortress.auth.models import Token
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.tokens import parse_token
from artifortress.blobs import services as blobs
from artifortress.blobs.download import Presentation, send_blob
from artifortress.blobs.httpio import body_chunks, declared_length
from artifortress.blobs.store import Expectation
from artifortress.db.engine import sqlite_reads_only
from artifortress.documents.services import Rendered, rendered
from artifortress.errors import Conflict, NotFound, Unauthenticated
from artifortress.formats import normalize_name
from artifortress.http.context import RequestContext
from artifortress.http.permissions import authorize
from artifortress.plugin.views import (
    ArtifactInfo,
    BlobRef,
    NewFile,
    PackageInfo,
    RepoInfo,
    TokenInfo,
    VersionInfo,
)
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on
from artifortress.repos.models import Repository
from artifortress.repos.services import RepoRef
from artifortress.search.services import search as search_packages
from artifortress.search.views import SearchResults
from artifortress.versions import drafts, labels, lifecycle, lookups, queries
from artifortress.versions.models import PUBLISHED, TOMBSTONED, Package, Version


class Gateway:
    """The core's services as one request's caller may use them."""

    def __init__(self, req: falcon.Request) -> None:
        self._req = req
        self._ctx: RequestContext = req.context  # type: ignore[assignment]

    # -- who and where -------------------------------------------------------------

    @property
    def principal(self) -> Principal:
        """The caller (raises 401 for credentials that do not authenticate)."""
        principal: Principal = self._ctx.principal
        return principal

    @property
    def repo(self) -> RepoInfo:
        """The repository of the URL, as resolved by the responder's ``@requires``."""
        return _repo_info(self._ctx.repo_ref)

    def repository(self, key: str, permission: Permission) -> RepoInfo:
        """The repository *key* if the caller holds *permission* on it (else 401/403/404)."""
        repo, _granted = authorize(self._req, key, permission)
        return _repo_info(repo)

    def may(self, repo: RepoInfo, permission: Permission) -> bool:
        return permission in permissions_on(self._ctx.db, self.principal, self._repo(repo))

    def normalize(self, format: str, name: str) -> str:
        return normalize_name(self._ctx.services.plugins, format, name)

    def public_url(self, path: str) -> str:
        """An absolute URL for *path*, from ``ARTIFORTRESS_PUBLIC_URL`` or the request."""
        base = self._ctx.services.settings.public_url
        if not base:
            base = self._req.prefix
            # The client chose it (Host): a body holding it is this client's alone and
            # never becomes a file for the front proxy (that would be one per Host sent).
            self._ctx.client_chosen_url = True
        return base.rstrip("/") + "/" + path.lstrip("/")

    # -- reading -------------------------------------------------------------------

    def packages(self, repo: RepoInfo) -> list[PackageInfo]:
        """Packages with at least one published version, by name."""
        live = select(Version.package_id).where(
            Version.repository_id == repo.id, Version.state == PUBLISHED
        )
        rows = self._ctx.db.scalars(
            select(Package)
            .where(Package.repository_id == repo.id, Package.id.in_(live))
            .order_by(Package.name)
        )
        return [PackageInfo(p.name, p.display_name) for p in rows]

    def versions(
        self, repo: RepoInfo, name: str, *, include_deleted: bool = False
    ) -> list[VersionInfo]:
        """Published versions of *name* (and deleted ones if asked), oldest first."""
        package = self._package(repo, name)
        if package is None:
            return []
        states = (PUBLISHED, TOMBSTONED) if include_deleted else (PUBLISHED,)
        return [_version_info(v) for v in queries.versions_of(self._ctx.db, package, states)]

    def version(self, repo: RepoInfo, name: str, version: str) -> VersionInfo | None:
        found = self._version(repo, name, version, (PUBLISHED,))
        return _version_info(found) if found is not None else None

    def version_with_file(
        self, repo: RepoInfo, name: str, filename: str, *, include_deleted: bool = False
    ) -> VersionInfo | None:
        """The version of *name* that has a file named *filename* (deleted ones too if asked).

        One indexed lookup, however long the package's history: the check
        "was this file name ever used?" of formats that never reuse names.
        """
        states = (PUBLISHED, TOMBSTONED) if include_deleted else (PUBLISHED,)
        found = lookups.version_holding(self._ctx.db, repo.id, name, filename, states)
        return _version_info(found) if found is not None else None

    def sealed_versions(self, repo: RepoInfo, name: str, versions: Iterable[str]) -> dict[str, str]:
        """Which of *versions* of *name* were ever published, each with its state now.

        States: ``published``, ``tombstoned``, ``quarantined`` or ``rejected``; a
        number missing from the answer was never used. The cost follows the
        numbers asked about, not how many versions the package has.
        """
        return lookups.sealed_states(self._ctx.db, repo.id, name, list(versions))

    def labels(self, repo: RepoInfo, name: str) -> dict[str, str]:
        """``{label: version}`` of the package's labels that point at published versions."""
        return labels.labels_named(self._ctx.db, repo.id, name)

    def search(
        self,
        text: str,
        *,
        repo: RepoInfo | None = None,
        format: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResults:
        """Packages matching *text* that the caller may read, best first (``npm search``).

        Every word must match (as a prefix too); *repo* and *format* narrow it.
        Raises :class:`ServiceUnavailable` (503) while the search index is unusable.
        """
        return search_packages(
            self._ctx.db,
            self.principal,
            text,
            format=format,
            repo=repo.key if repo is not None else None,
            offset=offset,
            limit=limit,
        )

    # -- bytes ---------------------------------------------------------------------

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

    # -- publishing ----------------------------------------------------------------

    def publish(
        self,
        repo: RepoInfo,
        name: str,
        version: str,
        files: Sequence[NewFile],
        *,
        metadata: dict[str, Any] | None = None,
        display_name: str | None = None,
        labels: Sequence[str] = (),
    ) -> VersionInfo:
        """Create, fill and publish a version as one unit: all of it or none (409 if it exists).

        *labels* (npm dist-tags) then point at the new version, in the same
        unit; if a repository policy held the version back, when it is released.
        """
        db, caller, orm_repo = self._ctx.db, self._ctx.caller, self._repo(repo)
        db.flush()
        with db.begin_nested():  # on any error the draft is discarded with the savepoint
            draft = drafts.create_draft(
                db,
                caller,
                orm_repo,
                package=name,
                version=version,
                display_name=display_name,
                metadata=metadata,
                ttl_seconds=self._ctx.services.settings.draft_ttl,
                files=[_artifact_input(new) for new in files],
            )
            plugins = self._ctx.services.plugins  # the repository's policies judge it
            published = drafts.publish(db, caller, orm_repo, draft, plugins, labels)
            return _version_info(published)

    def append_files(
        self, repo: RepoInfo, name: str, version: str, files: Sequence[NewFile]
    ) -> VersionInfo:
        """Add new files to a published version, for formats that allow it (PyPI)."""
        spec = self._ctx.services.formats.get(repo.format)
        if spec is None or not spec.append_files:
            raise Conflict(f"{repo.format} versions take no files after publication")
        found = self._require_version(repo, name, version)
        plugins = self._ctx.services.plugins  # the repository's policies judge new files too
        entries = [_artifact_input(new) for new in files]
        drafts.add_artifacts(self._ctx.db, self._ctx.caller, found, entries, plugins)
        return _version_info(found)

    # -- lifecycle -----------------------------------------------------------------

    def yank(self, repo: RepoInfo, name: str, version: str, reason: str | None = None) -> None:
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), True, reason
        )

    def unyank(self, repo: RepoInfo, name: str, version: str) -> None:
        lifecycle.set_yanked(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), False
        )

    def deprecate(self, repo: RepoInfo, name: str, version: str, message: str | None) -> None:
        """Deprecate with *message*, or un-deprecate with ``None``."""
        lifecycle.set_deprecated(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), message
        )

    def delete_version(self, repo: RepoInfo, name: str, version: str) -> None:
        """Tombstone delete: hidden at once; its number is never reused."""
        lifecycle.tombstone(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version)
        )

    def set_label(self, repo: RepoInfo, name: str, label: str, version: str) -> None:
        labels.set_label(
            self._ctx.db, self._ctx.caller, self._require_version(repo, name, version), label
        )

    def delete_label(self, repo: RepoInfo, name: str, label: str) -> None:
        package = self._package(repo, name)
        if package is None:
            raise NotFound(f"no package {name!r} in {repo.key}")
        labels.delete_label(self._ctx.db, self._ctx.caller, self._repo(repo), package, label)

    # -- tokens (for protocols with their own login, such as npm) -------------------

    def issue_token(
        self, name: str, *, read_only: bool = False, as_principal: Principal | None = None
    ) -> tuple[TokenInfo, str]:
        """A new token for the caller (or *as_principal*); audited.

        Needs a full token (neither read-only nor limited to repositories):
        otherwise :class:`PermissionDenied`.  Returns the token's view and its
        secret, which is shown only this once.
        """
        principal = as_principal or self.principal
        if principal.is_anonymous:
            raise Unauthenticated("log in first")
        db = self._ctx.db
        user = users.get_user(db, principal.tenant_id, principal.name)
        caller = Caller(principal, self._ctx.request_id, self._ctx.client_addr)
        token, secret = auth.issue_token(
            db,
            caller,
            user,
            self._ctx.services.token_policy,
            name=name,
            read_only=read_only,
        )
        return _token_info(token), secret

    def authenticate(self, user: str, secret: str) -> Principal:
        """The principal of *secret* if it is a valid token of *user* (a password check)."""
        principal = self._ctx.services.authenticator.authenticate(secret)
        if principal.name != user:
            raise Unauthenticated("the token does not belong to this user")
        return principal

    def log_in(self, user: str, secret: str) -> Principal:
        """Check *secret* as a token of *user* (see :meth:`authenticate`) and act as its principal.

        For a protocol's own log-in: what the request does next (issuing a
        token, an audit row of a refusal) is done as that user.
        """
        principal = self.authenticate(user, secret)
        self._ctx.act_as(principal)
        return principal

    def tokens(self) -> list[TokenInfo]:
        """The caller's tokens; needs a full token (else :class:`PermissionDenied`)."""
        if self.principal.user_id is None:
            raise Unauthenticated("log in first")
        return [_token_info(t) for t in auth.own_tokens(self._ctx.db, self.principal)]

    def revoke_token(self, token: str) -> None:
        """Revoke one of the caller's tokens, given its id or the token itself.

        Any token may revoke itself; another needs a full token.
        """
        parsed = parse_token(token)
        key_id = parsed[0] if parsed is not None else token
        revoked = auth.revoke_token(self._ctx.db, self._ctx.caller, key_id)
        self._ctx.services.authenticator.forget(revoked.key_id)

    # -- stored renderings ---------------------------------------------------------

    def rendered(
        self,
        repo: RepoInfo,
        key: str,
        *,
        package: str | None,
        content_type: str,
        build: Callable[[], bytes],
    ) -> Rendered:
        """The stored rendering *key*, rebuilt by *build* only after a change.

        *package* scopes it: any change to that package (or, with ``None``, to
        anything in the repository) makes the next call rebuild it.
        """
        return rendered(
            self._ctx.db,
            repo.id,
            f"{repo.format}:{key}",
            package=package,
            content_type=content_type,
            build=build,
            cache=self._ctx.services.renderings,
        )

    def send_rendered(
        self, resp: falcon.Response, doc: Rendered, *, vary: Sequence[str] = ("Accept",)
    ) -> None:
        """Answer with a stored rendering, or 304 when the client's copy is current.

        Clients revalidate every time (``Cache-Control: max-age=0``), so the
        ETag/Last-Modified pair is what keeps repeat installs cheap.
        """
        resp.etag = doc.etag
        resp.last_modified = doc.last_modified
        resp.vary = list(vary)
        resp.cache_control = ["max-age=0", "must-revalidate"]
        if _not_modified(self._req, doc):
            resp.status = falcon.HTTP_304
            return
        resp.content_type = doc.content_type
        accel = self._ctx.services.accel
        # A body holding a URL built from the client's Host is never shared as a file.
        shareable = self._req.method == "GET" and not self._ctx.client_chosen_url
        handoff = accel.rendering(doc) if accel is not None and shareable else None
        if handoff is not None:
            resp.set_header("X-Accel-Redirect", handoff)  # the front proxy sends the file
            return
        resp.data = doc.body

    # -- internals -----------------------------------------------------------------

    def _repo(self, repo: RepoInfo) -> Repository:
        ref = getattr(self._ctx, "repo_ref", None)  # set by @requires on a repository URL
        if ref is not None and repo.id == ref.id:
            # Held by the request: the session's identity map holds objects only
            # weakly, so a second lookup would otherwise query again.
            return self._ctx.repo
        found = self._ctx.db.get(Repository, repo.id)
        if found is None:
            raise NotFound(f"no repository {repo.key!r}")
        return found

    def _package(self, repo: RepoInfo, name: str) -> Package | None:
        return self._ctx.db.scalars(
            select(Package).where(Package.repository_id == repo.id, Package.name == name)
        ).one_or_none()

    def _version(
        self, repo: RepoInfo, name: str, version: str, states: tuple[str, ...]
    ) -> Version | None:
        return self._ctx.db.scalars(
            select(Version)
            .join(Package)
            .where(
                Package.repository_id == repo.id,
                Package.name == name,
                Version.version == version,
                Version.state.in_(states),
            )
        ).one_or_none()

    def _require_version(self, repo: RepoInfo, name: str, version: str) -> Version:
        found = self._version(repo, name, version, (PUBLISHED,))
        if found is None:
            raise NotFound(f"no version {version!r} of {name!r} in {repo.key}")
        return found


def _not_modified(req: falcon.Request, doc: Rendered) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    none_match = req.get_header("If-None-Match")
    if none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in none_match.split(",")}
        return "*" in tags or doc.etag in tags
    since = req.get_header_as_datetime("If-Modified-Since")
    if since is None:
        return False
    # HTTP dates have whole seconds: a change later in the same second as the
    # client's copy must not pass for "not modified", so round the change up.
    changed = doc.last_modified
    ceiling = changed.replace(microsecond=0) + dt.timedelta(seconds=1 if changed.microsecond else 0)
    return ceiling <= since.replace(tzinfo=dt.UTC)


def _token_info(token: Token) -> TokenInfo:
    return TokenInfo(
        id=token.key_id,
        name=token.name,
        read_only=token.read_only,
        repos=tuple(token.repo_scopes) if token.repo_scopes is not None else None,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked=token.revoked_at is not None,
    )


def _repo_info(repo: Repository | RepoRef) -> RepoInfo:
    return RepoInfo(repo.id, repo.key, repo.format, repo.public, repo.description)


def _artifact_input(new: NewFile) -> drafts.ArtifactInput:
    return drafts.ArtifactInput(
        filename=new.filename,
        digest=new.blob.digest,
        size=new.blob.size,
        media_type=new.media_type,
        metadata=dict(new.metadata),
    )


def _version_info(version: Version) -> VersionInfo:
    return VersionInfo(
        package=version.package.name,
        display_name=version.package.display_name,
        version=version.version,
        state=version.state,
        metadata=version.metadata_,
        published_at=version.published_at,
        published_by=version.published_by,
        yanked=version.yanked,
        yank_reason=version.yank_reason,
        deprecated=version.deprecated,
        tombstoned_at=version.tombstoned_at,
        artifacts=tuple(
            ArtifactInfo(a.filename, a.digest, a.size, a.media_type, a.metadata_, a.created_at)
            for a in version.artifacts
        ),
    )
