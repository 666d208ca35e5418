"""Remote repositories against a real upstream on 127.0.0.1, through a tiny test format.

The ``upstreamtest`` format exposes the plugin API as routes: ``/doc/{name}``
answers ``gateway.upstream_document(repo, "docs/{name}")`` and
``/file/{package}/{version}/{filename}`` fetches ``files/{filename}`` with
``gateway.upstream_file`` (``?sha256=`` / ``?integrity=`` as announced;
``?from=URL`` fetches an absolute URL instead) and sends it with ``send_artifact``;
``/stream/...`` does the same through ``gateway.send_upstream_file``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import falcon
import pytest
from sqlalchemy import select, update

from artifortress.plugin import (
    FormatSpec,
    Gateway,
    Permission,
    PluginRoute,
    PolicyDecision,
    PolicyRequest,
    hookimpl,
    requires,
)
from artifortress.repos.kinds import REMOTE
from artifortress.repos.models import Repository
from artifortress.repos.upstreams import configure_upstream
from tests.support.upstream import Upstream

FORMAT = "upstreamtest"


class DocumentResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, name: str) -> None:
        gateway = Gateway(req)
        document = gateway.upstream_document(gateway.repo, f"docs/{name}")
        resp.data = document.body
        resp.content_type = document.content_type
        resp.set_header("X-Stale", "yes" if document.stale else "no")


class FileResource:
    @requires(Permission.READ)
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        filename: str,
    ) -> None:
        gateway = Gateway(req)
        found = gateway.upstream_file(
            gateway.repo,
            req.get_param("from") or f"files/{filename}",
            package=package,
            version=version,
            filename=filename,
            sha256=req.get_param("sha256"),
            integrity=req.get_param("integrity"),
        )
        gateway.send_artifact(resp, gateway.repo, found.package, found.version, filename)


class StreamResource:
    """As FileResource, through send_upstream_file (the fetching request gets the bytes at once)."""

    @requires(Permission.READ)
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        repo: str,
        package: str,
        version: str,
        filename: str,
    ) -> None:
        gateway = Gateway(req)
        gateway.send_upstream_file(
            resp,
            gateway.repo,
            f"files/{filename}",
            package=package,
            version=version,
            filename=filename,
            sha256=req.get_param("sha256"),
        )


class UpstreamTestFormat:
    @hookimpl
    def artifortress_formats(self) -> list[FormatSpec]:
        # Appends files to published versions, as PyPI does.
        return [FormatSpec(name=FORMAT, description="remote engine under test", append_files=True)]

    @hookimpl
    def artifortress_routes(self) -> list[PluginRoute]:
        return [
            PluginRoute(FORMAT, "/doc/{name}", DocumentResource()),
            PluginRoute(FORMAT, "/file/{package}/{version}/{filename}", FileResource()),
            PluginRoute(FORMAT, "/stream/{package}/{version}/{filename}", StreamResource()),
        ]


class HoldPackagesNamedHeld:
    """A repository policy: quarantine any version of the package ``held``."""

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if request.version.package == "held":
            return PolicyDecision.quarantine("held for review", policy="test")
        return None


@pytest.fixture
def extra_plugins() -> list[object]:
    return [UpstreamTestFormat(), HoldPackagesNamedHeld()]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Short timeouts: a stalled upstream fails these tests' requests within seconds."""
    return {"upstream_connect_timeout": "1", "upstream_read_timeout": "1", "upstream_retries": "1"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.fixture
def make_remote(make_repo, services, upstream) -> Callable[..., dict[str, Any]]:
    """A remote repository of the test format whose upstream is the test server."""

    def make(key: str = "up", ttl: int = 600, **upstream_fields: Any) -> dict[str, Any]:
        repo = make_repo(key, format=FORMAT)
        with services.sessions.begin() as db:
            db.execute(update(Repository).where(Repository.key == key).values(kind=REMOTE))
            entity = db.scalars(select(Repository).where(Repository.key == key)).one()
            configure_upstream(db, entity, {"url": upstream.url, **upstream_fields}, ttl)
        return repo

    return make
