"""Remote repositories: upstream metadata and files, through the core's remote engine.

The engine (:mod:`artifortress.remote`) fetches with deadlines and retries,
once per key across threads, processes and nodes, verifies, stores and keeps
metadata for the remote's TTL; a plugin only translates its protocol. A hit
is one read in the request's transaction; a miss ends that transaction first,
so nothing is held while the upstream answers or bytes flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from artifortress.plugin.gateway.base import GatewayBase
from artifortress.remote.client import host_of
from artifortress.remote.documents import UpstreamDocument
from artifortress.remote.errors import UpstreamUnavailable
from artifortress.remote.files import WantedFile
from artifortress.repos.upstreams import upstream_of
from artifortress.repos.views import RepoInfo
from artifortress.versions.views import VersionInfo


class RemoteGateway(GatewayBase):
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
        engine = self._ctx.services.remote.documents
        upstream = upstream_of(self._ctx.db, repo)
        found = engine.lookup(self._ctx.db, repo, upstream, path, key)
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
        engine = self._ctx.services.remote.files
        name = self.normalize(repo.format, package)
        wanted = WantedFile(
            package=name,
            version=version,
            filename=filename,
            sha256=sha256,
            integrity=integrity,
            media_type=media_type,
            metadata=metadata,
            display_name=display_name or (package if package != name else None),
        )
        found = engine.lookup(self._ctx.db, repo, wanted)
        if found is not None:
            return found
        upstream = upstream_of(self._ctx.db, repo)
        url = _http_url(urljoin(upstream.url, path_or_url))
        self._ctx.read_until_write()  # no transaction while bytes flow
        return engine.fetch(repo, upstream, url, wanted, self._ctx.request_id)


def _http_url(url: str) -> str:
    """*url* if it is http(s): upstream metadata must not make the gateway read ``file:``."""
    if urlsplit(url).scheme not in ("http", "https"):
        host = host_of(url)
        raise UpstreamUnavailable(host, f"upstream metadata points at a non-HTTP URL ({host})")
    return url
