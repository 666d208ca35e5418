"""Remote repositories: upstream metadata and files, through the core's remote engine.

The engine (:mod:`artifortress.remote`) fetches with deadlines and retries,
once per key across threads, processes and nodes, verifies, stores and keeps
metadata for the remote's TTL; a plugin only translates its protocol. A hit
is one read in the request's transaction; a miss ends that transaction first,
so nothing is held while the upstream answers or bytes flow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import falcon

from artifortress.blobs.download import content_disposition
from artifortress.plugin.gateway.transfer import TransferGateway
from artifortress.remote.client import host_of
from artifortress.remote.documents import UpstreamDocument
from artifortress.remote.errors import UpstreamUnavailable
from artifortress.remote.files import WantedFile
from artifortress.remote.relay import Relay
from artifortress.repos.upstreams import Upstream
from artifortress.repos.views import RepoInfo
from artifortress.versions.validation import check_filename, check_version, clean_name
from artifortress.versions.views import VersionInfo

_Found = TypeVar("_Found", bound=VersionInfo | Relay)
#: The remote engine's ``fetch`` or ``stream``: (repo, upstream, url, wanted, request id).
_Fetch = Callable[[RepoInfo, Upstream, str, WantedFile, str | None], _Found]


class RemoteGateway(TransferGateway):
    """What a remote repository's upstream holds, cached by the core."""

    def upstream_document(
        self, repo: RepoInfo, path: str, *, accept: str | None = None, key: str | None = None
    ) -> UpstreamDocument:
        """The upstream's metadata document at *path* (relative to its URL), cached.

        Kept per (*repo*, *key* or *path*) for the remote's ``metadata_ttl``,
        then revalidated (ETag/Last-Modified), one fetch at a time. Upstream
        down or slow with a copy at hand: the copy, ``stale=True``. Upstream
        404/410: NotFound (remembered briefly). No copy and upstream failing:
        ``UpstreamUnavailable`` (502). 409 if *repo* is not a remote.
        """
        ctx, engine = self._ctx, self._ctx.services.remote.documents
        # A request that has read nothing yet reads the document's row outside a session.
        db = ctx.db_when_needed
        upstream = ctx.services.layouts.upstream(db, repo)
        found = engine.lookup(db, repo, upstream, path, key)
        if found is not None:
            return found
        self._ctx.read_until_write()  # no transaction while the upstream answers
        return engine.fetch(repo, upstream, path, accept=accept, key=key)

    def upstream_file(
        self,
        repo: RepoInfo,
        path_or_url: str,
        *,
        package: str,
        version: str,
        filename: str,
        sha256: str | None = None,
        integrity: str | None = None,
        media_type: str = "application/octet-stream",
        metadata: Mapping[str, Any] | None = None,
        display_name: str | None = None,
    ) -> VersionInfo:
        """The upstream file as a published artifact of remote *repo*; fetched if need be.

        *path_or_url* is relative to the upstream URL, or absolute (a file host
        the metadata points at: the upstream's credentials are not sent there).
        Fetched once however many ask, verified against *sha256* (hex) and/or
        npm *integrity* (SRI) — a mismatch is ``UpstreamMismatch`` (502) and
        nothing is stored — then published as *version* of *package* (or
        appended to it, for formats with ``append_files``) by ``remote:<key>``
        with provenance ``{"upstream": {"url", "fetched_at"}}`` on the file
        (and on the version it creates, with *metadata*). The repository's
        policies judge it: one held in quarantine raises ``HeldByPolicy`` (403).
        Answer with :meth:`send_artifact` afterwards.
        """
        wanted = self._wanted(
            repo, package, version, filename, sha256, integrity, media_type, metadata, display_name
        )
        return self._cached_or(self._ctx.services.remote.files.fetch, repo, path_or_url, wanted)

    def send_upstream_file(
        self,
        resp: falcon.Response,
        repo: RepoInfo,
        path_or_url: str,
        *,
        package: str,
        version: str,
        filename: str,
        sha256: str | None = None,
        integrity: str | None = None,
        media_type: str = "application/octet-stream",
        metadata: Mapping[str, Any] | None = None,
        display_name: str | None = None,
    ) -> None:
        """Answer GET/HEAD with an upstream file: :meth:`upstream_file`, then :meth:`send_artifact`.

        The difference: the one request that fetches a file gets its bytes as
        they arrive from upstream (a large file's first bytes come at once,
        not after the whole download), while they are stored; the download
        runs at the upstream's pace, however slowly that client reads (the
        others are not held up). Its last bytes are sent once the file is
        verified, and kept if a repository policy could refuse it: a client
        never gets a complete file that was refused, its response ends short
        instead (a connection reset and one log line, not a server error).
        Requests for a file being fetched wait for it, then get it as any
        cached file (ranges, validators). Same errors as :meth:`upstream_file`.
        """
        wanted = self._wanted(
            repo, package, version, filename, sha256, integrity, media_type, metadata, display_name
        )
        engine = self._ctx.services.remote.files
        # HEAD, ranges, validators: fetched whole, then answered from the blob.
        fetch: _Fetch[VersionInfo | Relay] = (
            engine.stream if _plain_get(self._req) else engine.fetch
        )
        found = self._cached_or(fetch, repo, path_or_url, wanted)
        if isinstance(found, Relay):
            _relay(resp, found, wanted)
            return
        self.send_artifact(resp, repo, found.package, found.version, filename)

    def _cached_or(
        self, fetch: _Fetch[_Found], repo: RepoInfo, path_or_url: str, wanted: WantedFile
    ) -> VersionInfo | _Found:
        """The file *wanted* as cached in *repo*, else what *fetch* makes of its upstream URL."""
        found = self._ctx.services.remote.files.lookup(self._ctx.db, repo, wanted)
        if found is not None:
            return found
        upstream, url = self._upstream_url(repo, path_or_url)
        self._ctx.read_until_write()  # no transaction while bytes flow
        return fetch(repo, upstream, url, wanted, self._ctx.request_id)

    def _wanted(
        self,
        repo: RepoInfo,
        package: str,
        version: str,
        filename: str,
        sha256: str | None,
        integrity: str | None,
        media_type: str,
        metadata: Mapping[str, Any] | None,
        display_name: str | None,
    ) -> WantedFile:
        # Checked as a publish checks them, before anything is fetched: the
        # version and file name come from upstream metadata (and the request),
        # and one the remote cannot hold must not cost a download first.
        name = clean_name(self.normalize(repo.format, package))
        check_version(version)
        check_filename(filename)
        return WantedFile(
            package=name,
            version=version,
            filename=filename,
            sha256=sha256,
            integrity=integrity,
            media_type=media_type,
            metadata=metadata,
            display_name=display_name or (package if package != name else None),
        )

    def _upstream_url(self, repo: RepoInfo, path_or_url: str) -> tuple[Upstream, str]:
        upstream = self._ctx.services.layouts.upstream(self._ctx.db, repo)
        return upstream, _http_url(urljoin(upstream.url, path_or_url))


def _plain_get(req: falcon.Request) -> bool:
    """A GET of the whole file, which can be answered while it streams in."""
    conditional = ("Range", "If-Range", "If-None-Match", "If-Modified-Since")
    return req.method == "GET" and not any(req.get_header(name) for name in conditional)


def _relay(resp: falcon.Response, relay: Relay, wanted: WantedFile) -> None:
    resp.content_type = wanted.media_type
    resp.set_header("Content-Disposition", content_disposition(wanted.filename))
    resp.cache_control = ["private"]
    if wanted.sha256:
        resp.set_header("X-Checksum-Sha256", wanted.sha256.lower())
    if relay.size is not None:
        resp.content_length = relay.size
    resp.stream = relay


def _http_url(url: str) -> str:
    """*url* if it is http(s): upstream metadata must not make the gateway read ``file:``."""
    if urlsplit(url).scheme not in ("http", "https"):
        host = host_of(url)
        raise UpstreamUnavailable(host, f"upstream metadata points at a non-HTTP URL ({host})")
    return url
