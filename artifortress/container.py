"""The long-lived objects one process shares between requests."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from artifortress.auth.services import Authenticator, TokenPolicy
from artifortress.blobs.factory import make_store
from artifortress.blobs.store import BlobStore
from artifortress.db.engine import make_engine, make_session_factory
from artifortress.db.pooled import PooledRead
from artifortress.formats import FormatSpec
from artifortress.http.accel import AccelRedirect, make_accel
from artifortress.identity.id_tokens import IssuerKeys
from artifortress.plugin_manager import collect_formats, make_plugin_manager
from artifortress.rbac.grant_cache import GrantCache
from artifortress.remote.services import RemoteEngine
from artifortress.renderings.cache import TieredCache, make_cache
from artifortress.renderings.store import CounterReader
from artifortress.repos.layouts import Layouts
from artifortress.secretbox import session_info
from artifortress.settings import Settings
from artifortress.tenants.models import DEFAULT_TENANT
from artifortress.tenants.services import get_or_create_tenant
from artifortress.versions.queries import PUBLISHED_FILE, ClaimReader


@dataclasses.dataclass
class Services:
    """Settings, database, plugins and caches; built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    authenticator: Authenticator
    plugins: pluggy.PluginManager
    formats: Mapping[str, FormatSpec]
    token_policy: TokenPolicy
    #: Where blob bytes live (``ARTIFORTRESS_BLOB_URL``).
    blobs: BlobStore
    renderings: TieredCache
    #: Fetches for remote repositories (one upstream connection pool per process).
    remote: RemoteEngine
    #: Virtual layouts and remote upstreams, kept within the token cache's bound.
    layouts: Layouts
    #: The front proxy's hand-off of response bodies (``ARTIFORTRESS_ACCEL_REDIRECT``).
    accel: AccelRedirect | None = None
    #: OpenID issuers' discovery documents and signing keys (sign-in, trusted publishing).
    issuer_keys: IssuerKeys = dataclasses.field(default_factory=IssuerKeys)
    #: Decisions granting read, kept within the token cache's bound (none kept by default).
    grants: GrantCache = dataclasses.field(default_factory=lambda: GrantCache(0))
    #: Change counters read outside a session, for cached pages (``None``: in the session).
    counters: CounterReader | None = None
    #: Downloads' file lookup outside a session, likewise (``versions.queries.PUBLISHED_FILE``).
    published_files: PooledRead | None = None
    #: The dependency-confusion guard's name claims, read likewise (``None``: in the session).
    claims: ClaimReader | None = None
    _default_tenant_id: int | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls, settings: Settings, *, extra_plugins: Iterable[object] = (), entry_points: bool = True
    ) -> Services:
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine, info=session_info(settings))
        pm = make_plugin_manager(extra_plugins, entry_points=entry_points)
        blobs = make_store(settings)
        formats = collect_formats(pm)
        grants = GrantCache(settings.token_cache_seconds)
        grants.watch(engine, sessions)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            authenticator=Authenticator(sessions, settings.token_cache_seconds),
            plugins=pm,
            formats=formats,
            token_policy=TokenPolicy(settings.token_default_ttl_days, settings.token_max_ttl_days),
            blobs=blobs,
            renderings=make_cache(settings.redis_url, settings.rendering_cache_size),
            remote=RemoteEngine(settings, sessions, blobs, formats, pm),
            layouts=Layouts(settings.token_cache_seconds),
            accel=make_accel(settings, blobs),
            grants=grants,
            counters=CounterReader(engine),
            published_files=PooledRead(engine, PUBLISHED_FILE),
            claims=ClaimReader(engine),
        )

    def handoff(self, digest: str) -> str | None:
        """The front proxy's internal URI for a blob, when the hand-off is on and can serve it."""
        return self.accel.blob(digest) if self.accel is not None else None

    def default_tenant_id(self) -> int:
        """Tenant of anonymous callers; looked up once, created if missing."""
        if self._default_tenant_id is None:
            with self._lock, self.sessions.begin() as db:
                self._default_tenant_id = get_or_create_tenant(db, DEFAULT_TENANT).id
        return self._default_tenant_id

    def close(self) -> None:
        self.engine.dispose()
        self.blobs.close()
        self.remote.close()
        self.issuer_keys.close()
