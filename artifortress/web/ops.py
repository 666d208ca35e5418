"""Operational endpoints: liveness, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import falcon
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

from artifortress.blobs.store import BlobStore
from artifortress.db.engine import make_engine
from artifortress.http.body import send_json
from artifortress.http.metrics import render
from artifortress.http.openapi import responds
from artifortress.http.permissions import public

log = logging.getLogger("artifortress.ready")

#: A readiness check returns ``None`` when healthy, or a short reason.
ReadinessCheck = Callable[[], "str | None"]

_STATUS = {"type": "string"}
_READINESS = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["status", "checks"],
                "properties": {
                    "status": {"enum": ["ready", "degraded", "unavailable"]},
                    "checks": {"type": "object", "additionalProperties": _STATUS},
                    "degraded": {"type": "array", "items": _STATUS},
                },
            }
        }
    }
}


class HealthResource:
    @public
    @responds(
        {
            200: {
                "description": "The process is up",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"status": {"const": "ok"}}}
                    }
                },
            }
        }
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The process is up (touches no backing service)."""
        send_json(resp, {"status": "ok"})


class ReadyResource:
    """Ready when every required backing service answers (database, blob store).

    *optional* checks (Redis, which only holds caches) are reported but never
    make the process unready: a cache outage taking every node out of the
    load balancer at once would turn lost speed into lost service.
    """

    def __init__(
        self, checks: dict[str, ReadinessCheck], optional: dict[str, ReadinessCheck] | None = None
    ) -> None:
        self._checks = checks
        self._optional = optional or {}

    @public
    @responds(
        {
            200: {"description": "Every required backing service answers", **_READINESS},
            503: {"description": "A required backing service does not answer", **_READINESS},
        }
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Readiness of every backing service; 503 naming the failing required ones."""
        results = {name: _run(check) for name, check in self._checks.items()}
        extras = {name: _run(check) for name, check in self._optional.items()}
        ok = all(reason is None for reason in results.values())
        degraded = sorted(name for name, reason in extras.items() if reason is not None)
        body: dict[str, Any] = {
            "status": ("degraded" if degraded else "ready") if ok else "unavailable",
            "checks": {name: reason or "ok" for name, reason in {**results, **extras}.items()},
        }
        if degraded:
            body["degraded"] = degraded
        if not ok:
            resp.set_header("Retry-After", "5")
        send_json(resp, body, status=200 if ok else 503)


def _run(check: ReadinessCheck) -> str | None:
    try:
        return check()
    except Exception as exc:  # a readiness probe reports failures, it never raises
        log.warning("readiness check failed: %s", exc)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()


def database_check(engine: Engine) -> ReadinessCheck:
    """Open a new connection to *engine*'s database and run ``SELECT 1``.

    The probe has its own unpooled engine: through the request pool it would
    queue behind busy requests and report a loaded server as unready, which
    takes it out of the load balancer exactly when it is needed most.
    """
    probe: list[Engine] = []

    def check() -> str | None:
        if not probe:
            url = engine.url.render_as_string(hide_password=False)
            probe.append(make_engine(url, poolclass=NullPool))
        with probe[0].connect() as conn:
            conn.execute(text("SELECT 1"))
        return None

    return check


def blob_store_check(store: BlobStore) -> ReadinessCheck:
    """A write under the local folder, or HEAD on the bucket (:meth:`BlobStore.check`)."""

    def check() -> str | None:
        store.check()
        return None

    return check


def redis_check(redis_url: str, timeout: float = 0.5) -> ReadinessCheck:
    """``PING`` the Redis at *redis_url* on a client of the probe's own.

    Its own client with short timeouts: the probe neither waits behind the
    cache's connections nor is silenced by the cache's back-off after errors.
    """
    clients: list[Any] = []

    def check() -> str | None:
        if not clients:
            import redis

            clients.append(
                redis.Redis.from_url(
                    redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
                )
            )
        clients[0].ping()
        return None

    return check


class MetricsResource:
    def __init__(self, extra: Sequence[Callable[[], bytes]] = ()) -> None:
        #: Renderers of gauges computed at scrape time (e.g. the outbox backlog).
        self._extra = tuple(extra)

    @public
    @responds(
        {
            200: {
                "description": "Prometheus text exposition format 0.0.4",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Prometheus text exposition, aggregated over every worker process."""
        body, content_type = render()
        body += b"".join(more() for more in self._extra)
        resp.content_type = content_type
        resp.data = body


class OpenAPIResource:
    def __init__(self, document: Callable[[], dict[str, Any]]) -> None:
        self._document = document
        self._cached: bytes | None = None

    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The OpenAPI 3 description of ``/v1/``."""
        if self._cached is None:
            self._cached = json.dumps(self._document(), indent=1).encode()
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._cached
