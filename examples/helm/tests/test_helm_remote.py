"""A remote Helm repository against a static chart repository on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import yaml

from examples.helm.tests.test_helm import chart, upload
from tests.support.upstream import Upstream

WEB = chart("web", "1.0.0")


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"upstream_connect_timeout": "1", "upstream_read_timeout": "1", "upstream_retries": "0"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A static chart repository: an index and its charts, one on another path."""
    with Upstream().running() as server:
        index = {
            "apiVersion": "v1",
            "entries": {
                "web": [
                    {
                        "name": "web",
                        "version": "1.0.0",
                        "description": "a web app",
                        "digest": hashlib.sha256(WEB).hexdigest(),
                        "urls": [server.url + "downloads/web-1.0.0.tgz"],
                    }
                ],
                "db": [
                    {
                        "name": "db",
                        "version": "2.0.0-rc1",
                        "digest": hashlib.sha256(b"another chart").hexdigest(),
                        "urls": ["db-2.0.0-rc1.tgz"],
                    }
                ],
            },
            "generated": "2026-01-01T00:00:00Z",
        }
        server.serve("/index.yaml", yaml.safe_dump(index).encode(), content_type="text/yaml")
        server.serve("/downloads/web-1.0.0.tgz", WEB)
        server.serve("/db-2.0.0-rc1.tgz", b"tampered chart")
        yield server


@pytest.fixture
def remote(make_repo, upstream) -> str:
    make_repo("hub", format="helm", kind="remote", upstream={"url": upstream.url})
    return "hub"


def test_the_index_comes_from_upstream_with_chart_urls_through_the_gateway(admin, remote):
    answer = admin.get("/helm/hub/index.yaml")
    assert answer.status_code == 200, answer.text
    entries = yaml.safe_load(answer.text)["entries"]
    assert entries["web"][0]["urls"] == ["charts/web-1.0.0.tgz"]
    assert entries["db"][0]["urls"] == ["charts/db-2.0.0-rc1.tgz"]
    assert entries["web"][0]["digest"] == hashlib.sha256(WEB).hexdigest()
    assert entries["web"][0]["description"] == "a web app"


def test_a_chart_is_fetched_once_checked_and_kept(admin, remote, upstream):
    first = admin.get("/helm/hub/charts/web-1.0.0.tgz")
    assert (first.status_code, first.content) == (200, WEB), first.text
    assert admin.get("/helm/hub/charts/web-1.0.0.tgz").content == WEB
    assert upstream.hits["/downloads/web-1.0.0.tgz"] == 1
    version = admin.get("/v1/repos/hub/packages/web/versions/1.0.0").json
    assert version["published_by"] == "remote:hub"
    assert version["metadata"]["description"] == "a web app"


def test_a_chart_whose_bytes_do_not_match_the_digest_is_refused(admin, remote):
    """A GET would end short (its bytes stream as they arrive); HEAD answers after the check."""
    refused = admin.client.simulate_head(
        "/helm/hub/charts/db-2.0.0-rc1.tgz", headers=admin.headers()
    )
    assert refused.status_code == 502
    assert admin.get("/v1/repos/hub/packages/db").status_code == 404


def test_a_chart_the_index_lacks_is_a_404_and_uploads_are_refused(admin, remote):
    assert admin.get("/helm/hub/charts/web-9.9.9.tgz").status_code == 404
    assert upload(admin, "hub", WEB).status_code == 405
