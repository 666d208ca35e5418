"""npm search in a virtual keeps the dependency-confusion guard of its packuments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_npm_remote import Registry, publish, registry, remote, virtual  # noqa: F401

from artifortress.testing.helpers import Api, ApiFactory


def test_search_never_shows_a_remote_s_version_of_a_hosted_name(
    admin: Api,
    api_factory: ApiFactory,
    registry: Registry,  # noqa: F811
    virtual: str,  # noqa: F811
    drain_events: Callable[[], Any],
) -> None:
    """Its packument is hosted-only (404 to who may not read the hosted member): so is search."""
    registry.package("widget-public", {"1.0.0": None})
    registry.package("widget-private", {"9.0.0": None})  # a look-alike published upstream
    assert admin.get("/npm/npm-up/widget-public/-/widget-public-1.0.0.tgz").status_code == 200
    assert admin.get("/npm/npm-up/widget-private/-/widget-private-9.0.0.tgz").status_code == 200
    publish(admin, "/npm/js", "widget-private", "1.0.0")
    drain_events()
    reader = api_factory.as_user("reader", roles={"all": ["read"], "npm-up": ["read"]})
    assert reader.get(f"{virtual}/widget-private").status_code == 404
    found = reader.get(f"{virtual}/-/v1/search", params={"text": "widget"}).json
    assert [hit["package"]["name"] for hit in found["objects"]] == ["widget-public"]
    shown = admin.get(f"{virtual}/-/v1/search", params={"text": "widget"}).json
    versions = {hit["package"]["name"]: hit["package"]["version"] for hit in shown["objects"]}
    assert versions == {"widget-public": "1.0.0", "widget-private": "1.0.0"}
