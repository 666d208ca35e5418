"""pytest fixtures for Artifortress and its plugins (the ``pytest11`` entry point).

``db_url`` runs each test against SQLite and PostgreSQL.  ``services``,
``app`` and ``client`` build the real application on that database;
``admin``, ``anonymous`` and ``api_factory`` call it as a user, and
``make_repo`` creates repositories through the same API, so their effects are
audited like any other.  ``drain_events`` runs the outbox worker in process.
Override ``settings_overrides`` or ``extra_plugins`` in a test module or
conftest to change the settings or register unpackaged plugins.  Documented
in "Testing your plugin" (docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import falcon
import falcon.testing
import pytest

from artifortress.app import create_app

if TYPE_CHECKING:
    from artifortress.app import WsgiApp
from artifortress.container import Services
from artifortress.db import migrate
from artifortress.db.engine import make_engine
from artifortress.outbox.worker import WorkerReport
from artifortress.settings import Settings
from artifortress.testing.databases import (
    fresh_sqlite,
    migrated_sqlite_template,
    postgres_database,
    truncate_all,
)
from artifortress.testing.events import drain_events as drain
from artifortress.testing.helpers import Api, ApiFactory

DIALECTS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        yield fresh_sqlite(request.getfixturevalue("_sqlite_template"), tmp_path)
        return
    url: str = request.getfixturevalue("_postgres_url")
    engine = make_engine(url)
    truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Override to pass extra ``ARTIFORTRESS_*`` settings (without the prefix, lower case)."""
    return {}


@pytest.fixture
def settings(db_url: str, tmp_path: Path, settings_overrides: dict[str, str]) -> Settings:
    environ = {
        "ARTIFORTRESS_HOME": str(tmp_path / "home"),
        "ARTIFORTRESS_DATABASE_URL": db_url,
        **{f"ARTIFORTRESS_{k.upper()}": v for k, v in settings_overrides.items()},
    }
    return Settings.load(environ=environ)


@pytest.fixture
def extra_plugins() -> list[object]:
    """Override to register plugin objects that are not installed as distributions."""
    return []


@pytest.fixture
def services(settings: Settings, extra_plugins: list[object]) -> Iterator[Services]:
    built = Services.build(settings, extra_plugins=extra_plugins)
    yield built
    built.close()


@pytest.fixture
def app(services: Services) -> WsgiApp:
    return create_app(services)


@pytest.fixture
def client(app: WsgiApp) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.fixture
def new_client(services: Services) -> Callable[[], falcon.testing.TestClient]:
    """Build a fresh app on the same services, e.g. after changing the environment."""
    return lambda: falcon.testing.TestClient(create_app(services))


@pytest.fixture
def api_factory(client: falcon.testing.TestClient, services: Services) -> ApiFactory:
    return ApiFactory(client, services)


@pytest.fixture
def admin(api_factory: ApiFactory) -> Api:
    """An API client acting as a tenant administrator."""
    return api_factory.as_user("admin", admin=True)


@pytest.fixture
def anonymous(api_factory: ApiFactory) -> Api:
    return api_factory.anonymous()


@pytest.fixture
def make_repo(admin: Api) -> Callable[..., dict[str, Any]]:
    """Create a repository through the API as the tenant admin."""

    def make(
        key: str, format: str = "generic", public: bool = False, **extra: Any
    ) -> dict[str, Any]:
        result = admin.post("/v1/repos", {"key": key, "format": format, "public": public, **extra})
        assert result.status_code == 201, result.text
        return dict(result.json)

    return make


@pytest.fixture
def drain_events(services: Services) -> Callable[[], WorkerReport]:
    """Call it to handle, in this process, every event due now (search, webhooks, on_event)."""
    return lambda: drain(services)
