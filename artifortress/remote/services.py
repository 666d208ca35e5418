"""The remote engine of one process: its upstream connection pool, single-flight and caches."""

from __future__ import annotations

from collections.abc import Mapping

import pluggy
from sqlalchemy.orm import Session, sessionmaker

from artifortress.blobs.store import BlobStore
from artifortress.formats import FormatSpec
from artifortress.remote.bounds import FileBounds
from artifortress.remote.client import Timeouts, UpstreamClient
from artifortress.remote.deferred import DeferredWriter
from artifortress.remote.documents import DocumentCache
from artifortress.remote.files import FileFetcher
from artifortress.remote.leases import leases_for
from artifortress.remote.singleflight import SingleFlight
from artifortress.settings import Settings


class RemoteEngine:
    """Fetches for remote repositories: metadata documents and files."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        store: BlobStore,
        formats: Mapping[str, FormatSpec],
        plugins: pluggy.PluginManager,
    ) -> None:
        timeouts = Timeouts(
            connect=settings.upstream_connect_timeout,
            read=settings.upstream_read_timeout,
            retries=settings.upstream_retries,
        )
        self.client = UpstreamClient(timeouts, allow_private=settings.upstream_allow_private)
        flights = SingleFlight(leases_for(sessions))
        writer = self._writer = DeferredWriter(sessions)  # cold documents and files, batched
        self.documents = DocumentCache(sessions, self.client, flights, writer)
        self.files = FileFetcher(
            sessions,
            self.client,
            flights,
            store,
            formats,
            plugins,
            FileBounds(settings.max_blob_size, settings.upstream_min_rate),
            writer,
        )

    def close(self) -> None:
        self._writer.close()  # what it was given is committed first
        self.client.close()
