"""``/v1/search``: fed by the worker, ranked, paginated, showing only what the caller may read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon
import pytest
from sqlalchemy import text

from artifortress import hookimpl
from artifortress.container import Services
from artifortress.plugin import FormatSpec, Gateway, Permission, PluginRoute, VersionInfo, requires
from artifortress.search import schema
from artifortress.search.indexer import rebuild

from .helpers import FAST, drain, release


class Extra:
    """A format plugin contributing search fields."""

    @hookimpl
    def artifortress_search_fields(
        self, format: str, version: VersionInfo
    ) -> Mapping[str, Any] | None:
        if format != "generic" or "flavour" not in version.metadata:
            return None
        return {"keywords": ["contributed", str(version.metadata["flavour"])]}


class SearchPage:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """What a format plugin's search answers (as ``npm search`` will)."""
        found = Gateway(req).search(req.get_param("q") or "", limit=50)
        resp.media = {"total": found.total, "names": [hit.name for hit in found.hits]}


class Probe:
    """A format plugin that searches through the Gateway."""

    @hookimpl
    def artifortress_formats(self) -> list[FormatSpec]:
        return [FormatSpec("probe")]

    @hookimpl
    def artifortress_routes(self) -> list[PluginRoute]:
        return [PluginRoute("probe", "/search", SearchPage())]


@pytest.fixture
def extra_plugins() -> list[object]:
    return [Extra(), Probe()]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return FAST


def names(result: Any) -> list[str]:
    assert result.status_code == 200, result.text
    return [hit["name"] for hit in result.json["results"]]


@pytest.fixture
def catalogue(admin, make_repo, services):
    """A public and a private repository with a few packages, indexed."""
    make_repo("pub", public=True)
    make_repo("secret")
    release(admin, "pub", "requests", "2.0", metadata={"summary": "HTTP for humans"})
    release(
        admin,
        "pub",
        "requests-toolbelt",
        "1.0",
        metadata={"summary": "utilities for requests", "keywords": "http,multipart"},
    )
    release(
        admin, "pub", "httpx", "0.27", metadata={"description": "A next generation HTTP client"}
    )
    release(admin, "secret", "topsecret-http", "1.0", metadata={"summary": "internal HTTP bits"})
    drain(services)


def test_published_packages_are_found_by_name_summary_keywords_and_prefix(anonymous, catalogue):
    assert names(anonymous.get("/v1/search?q=requests"))[0] == "requests"  # exact name first
    assert set(names(anonymous.get("/v1/search?q=requests"))) == {"requests", "requests-toolbelt"}
    assert names(anonymous.get("/v1/search?q=humans")) == ["requests"]
    assert names(anonymous.get("/v1/search?q=multipart")) == ["requests-toolbelt"]
    assert names(anonymous.get("/v1/search?q=genera")) == ["httpx"]  # a prefix
    assert names(anonymous.get("/v1/search?q=toolbelt requ")) == ["requests-toolbelt"]  # all words
    assert names(anonymous.get("/v1/search?q=nothing-like-it")) == []
    hit = anonymous.get("/v1/search?q=humans").json["results"][0]
    assert {"repo": "pub", "format": "generic", "version": "2.0"}.items() <= hit.items()
    assert hit["summary"] == "HTTP for humans"


def test_punctuation_and_operators_in_the_query_are_plain_words(anonymous, catalogue):
    for query in ['"', "http*", "NOT http", "a:b", "(http", "'; drop table x; --", "-http"]:
        assert anonymous.get("/v1/search", params={"q": query}).status_code == 200, query
    assert anonymous.get("/v1/search", params={"q": "x" * 300}).status_code == 400
    assert anonymous.get("/v1/search", params={"q": "a\x00b"}).status_code == 400


def test_pagination_and_filters(anonymous, admin, catalogue):
    everything = names(anonymous.get("/v1/search?q=http&per_page=50"))
    assert len(everything) == 3
    pages = [names(anonymous.get(f"/v1/search?q=http&per_page=1&page={n}")) for n in (1, 2, 3, 4)]
    assert [p for page in pages for p in page] == everything
    assert anonymous.get("/v1/search?q=http&per_page=1").json["total"] == 3
    assert names(admin.get("/v1/search?q=http&repo=secret")) == ["topsecret-http"]
    assert names(admin.get("/v1/search?q=http&format=npm")) == []
    assert anonymous.get("/v1/search?page=0").status_code == 400
    assert anonymous.get("/v1/search?per_page=1000").status_code == 400


def test_a_private_repository_never_shows_in_anyone_elses_results(
    admin, anonymous, api_factory, catalogue
):
    admin.post("/v1/users", {"name": "insider"})
    assert admin.put("/v1/repos/secret/bindings/insider", {"roles": ["read"]}).status_code == 200
    insider = api_factory.as_user("insider")
    outsider = api_factory.as_user("outsider")
    promoter = api_factory.as_user("promoter")
    admin.put("/v1/repos/secret/bindings/promoter", {"roles": ["promote"]})
    scoped = api_factory.as_user("admin", admin=True, repos=["pub"])
    for caller in (anonymous, outsider, promoter, scoped):
        for query in ("http", "topsecret", "internal", ""):
            answer = caller.get("/v1/search", params={"q": query, "repo": "secret"})
            assert answer.status_code == 200
            assert answer.json["total"] == 0
            results = caller.get("/v1/search", params={"q": query}).json["results"]
            assert "topsecret" not in repr(results)
    assert "topsecret-http" in names(insider.get("/v1/search?q=http"))
    assert "topsecret-http" in names(admin.get("/v1/search?q=http"))
    # Visibility is decided at query time: making it public shows it at once.
    assert admin.patch("/v1/repos/secret", {"public": True}).status_code == 200
    assert "topsecret-http" in names(anonymous.get("/v1/search?q=topsecret"))


def test_the_index_follows_deletes_restores_and_new_versions(admin, anonymous, services, catalogue):
    base = "/v1/repos/pub/packages/httpx/versions/0.27"
    assert admin.delete(base).status_code == 200
    drain(services)
    assert names(anonymous.get("/v1/search?q=httpx")) == []
    assert admin.post(f"{base}/restore").status_code == 200
    release(admin, "pub", "httpx", "0.28", metadata={"summary": "now with HTTP/3"})
    drain(services)
    [hit] = anonymous.get("/v1/search?q=httpx").json["results"]
    assert (hit["version"], hit["summary"]) == ("0.28", "now with HTTP/3")
    # A ``latest`` label wins over the newest publication.
    admin.put("/v1/repos/pub/packages/httpx/labels/latest", {"version": "0.27"})
    drain(services)
    assert anonymous.get("/v1/search?q=httpx").json["results"][0]["version"] == "0.27"


def test_format_plugins_contribute_fields(admin, anonymous, make_repo, services):
    make_repo("pub", public=True)
    release(admin, "pub", "flavoured", "1.0", metadata={"flavour": "vanilla"})
    drain(services)
    assert names(anonymous.get("/v1/search?q=vanilla")) == ["flavoured"]
    assert names(anonymous.get("/v1/search?q=contributed")) == ["flavoured"]


def _drop_index(services: Services) -> None:
    with services.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {schema.TABLE}"))


def test_a_missing_index_is_a_503_for_search_only_until_reindex(
    admin, anonymous, services, catalogue
):
    _drop_index(services)
    try:
        broken = anonymous.get("/v1/search?q=http")
        assert broken.status_code == 503
        assert broken.headers["retry-after"]
        assert broken.json["error"]["code"] == "service_unavailable"
        # Every other API keeps working, publishing included.
        release(admin, "pub", "newcomer", "1.0", metadata={"summary": "HTTP newcomer"})
        assert anonymous.get("/v1/repos/pub/packages/newcomer/versions/1.0").status_code == 200
        assert admin.get("/v1/repos").status_code == 200
        assert admin.get("/readyz").status_code == 200
        # The indexer fails until its attempts run out; the other handlers ran once.
        report = drain(services)
        assert (report.handled, report.dead) == (0, 1)
        [dead] = admin.get("/v1/admin/outbox").json["events"]
        assert dead["type"] == "version.published"
        assert "artifortress.search" in dead["last_error"]
        assert "artifortress.webhooks" in dead["completed_handlers"]
        assert anonymous.get("/v1/search?q=http").status_code == 503
    finally:
        indexed = rebuild(services)  # recreates what is missing, then fills it
    assert indexed == 5
    assert "newcomer" in names(anonymous.get("/v1/search?q=http"))
    assert admin.post(f"/v1/admin/outbox/{dead['id']}/retry").status_code == 200
    assert drain(services).handled == 1
    assert "topsecret-http" not in names(anonymous.get("/v1/search?q=http"))


def test_reindex_rebuilds_from_the_truth_tables(admin, anonymous, services, catalogue):
    with services.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {schema.TABLE}"))
    assert names(anonymous.get("/v1/search?q=requests")) == []
    assert rebuild(services, recreate=True) == 4
    assert set(names(anonymous.get("/v1/search?q=requests"))) == {"requests", "requests-toolbelt"}


def test_plugins_search_through_the_gateway_with_the_callers_rights(
    admin, anonymous, make_repo, catalogue
):
    make_repo("door", format="probe", public=True)
    answer = anonymous.get("/probe/door/search?q=http").json
    assert answer["total"] == 3
    assert sorted(answer["names"]) == ["httpx", "requests", "requests-toolbelt"]
    assert "topsecret-http" in admin.get("/probe/door/search?q=http").json["names"]


def test_a_burst_of_publishes_to_one_package_is_projected_once(
    admin, anonymous, make_repo, services, monkeypatch
):
    import artifortress.search.indexer as indexer

    projected: list[int] = []
    real_project = indexer.project

    def counting(db, pm, package_id):
        projected.append(package_id)
        return real_project(db, pm, package_id)

    monkeypatch.setattr(indexer, "project", counting)
    make_repo("pub", public=True)
    for version in ("1.0", "1.1", "1.2", "1.3"):
        release(admin, "pub", "burst", version, metadata={"summary": "bursty"})
    drain(services)
    assert len(projected) == 1  # the four events' state, read by the first projection
    hits = anonymous.get("/v1/search?q=bursty").json["results"]
    assert [(hit["name"], hit["version"]) for hit in hits] == [("burst", "1.3")]
    # A later change is projected again, even with nothing else queued.
    release(admin, "pub", "burst", "2.0", metadata={"summary": "bursty"})
    drain(services)
    assert len(projected) == 2
    hits = anonymous.get("/v1/search?q=bursty").json["results"]
    assert [(hit["name"], hit["version"]) for hit in hits] == [("burst", "2.0")]


def test_a_batch_of_events_is_projected_in_one_transaction(
    admin, anonymous, make_repo, services, monkeypatch
):
    """A bulk upload's events (one per file) cost the worker one projection transaction."""
    import artifortress.search.indexer as indexer

    sessions: list[object] = []  # kept alive: their ids stay distinct
    real_project = indexer.project

    def counting(db, pm, package_id):
        sessions.append(db)
        return real_project(db, pm, package_id)

    monkeypatch.setattr(indexer, "project", counting)
    make_repo("pub", public=True)
    names = ["alpha", "beta", "gamma", "delta"]
    for name in names:
        release(admin, "pub", name, "1.0", metadata={"summary": "batched"})
    drain(services)
    assert len(sessions) == len(names)  # each package once, none again per event
    assert len({id(db) for db in sessions}) == 1
    hits = anonymous.get("/v1/search?q=batched").json["results"]
    assert sorted(hit["name"] for hit in hits) == sorted(names)
