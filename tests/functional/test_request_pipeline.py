"""The request pipeline: the caller's address behind a proxy, and per-route metrics."""

from __future__ import annotations

from pathlib import Path

import falcon.testing
import pytest
from prometheus_client.parser import text_string_to_metric_families

from artifortress.testing.databases import fresh_sqlite
from artifortress.testing.helpers import Api

SPOOFED = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "Forwarded": "for=7.7.7.7"}


@pytest.fixture
def db_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """The pipeline does not depend on the dialect: SQLite only."""
    return fresh_sqlite(_sqlite_template, tmp_path)


def audited_address(admin: Api, key: str) -> str:
    entries = admin.get("/v1/audit", params={"action": "repo.create"}).json["entries"]
    (entry,) = [e for e in entries if e["repo"] == key]
    return str(entry["client_addr"])


@pytest.mark.parametrize("settings_overrides", [{"trust_forwarded": "true"}])
def test_behind_a_trusted_proxy_the_address_it_appended_is_recorded(admin: Api) -> None:
    created = admin.post(
        "/v1/repos", {"key": "libs", "format": "generic"}, headers=SPOOFED, remote_addr="10.0.0.2"
    )
    assert created.status_code == 201
    assert audited_address(admin, "libs") == "203.0.113.7"  # not 6.6.6.6, not 7.7.7.7


@pytest.mark.parametrize("settings_overrides", [{"trust_forwarded": "true"}])
def test_a_trusted_proxy_without_header_falls_back_to_the_peer(admin: Api) -> None:
    created = admin.post("/v1/repos", {"key": "libs", "format": "generic"}, remote_addr="10.0.0.2")
    assert created.status_code == 201
    assert audited_address(admin, "libs") == "10.0.0.2"


def test_without_a_trusted_proxy_forwarding_headers_are_ignored(admin: Api) -> None:
    created = admin.post(
        "/v1/repos", {"key": "libs", "format": "generic"}, headers=SPOOFED, remote_addr="10.0.0.2"
    )
    assert created.status_code == 201
    assert audited_address(admin, "libs") == "10.0.0.2"


def counts(client: falcon.testing.TestClient) -> dict[tuple[str, str, str], float]:
    """``{(method, route, status): requests}`` from this process's /metrics."""
    text = client.simulate_get("/metrics").text
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name == "artifortress_http_requests":
            for s in family.samples:
                if s.name.endswith("_total"):
                    found[(s.labels["method"], s.labels["route"], s.labels["status"])] = s.value
    return found


def test_metrics_label_requests_by_route_template(
    client: falcon.testing.TestClient, admin: Api
) -> None:
    before = counts(client)
    for key in ("a1", "b2", "c3"):
        admin.get(f"/v1/repos/{key}")  # three URLs, one route; 404 each
    for n in range(3):
        client.simulate_get(f"/no/such/{n}")
    after = counts(client)

    def grew(label: tuple[str, str, str]) -> float:
        return after.get(label, 0.0) - before.get(label, 0.0)

    assert grew(("GET", "/v1/repos/{repo}", "404")) == 3
    # Unknown URLs share one label, so scanning cannot blow up the metric's cardinality.
    assert grew(("GET", "unmatched", "404")) == 3
    assert not any("/no/such" in route for _method, route, _status in after)
