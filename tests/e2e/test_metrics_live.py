"""Operations surface of the real server: ``/metrics`` over gunicorn workers, Swagger UI."""

from __future__ import annotations

import hashlib
import platform
import re
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from artifortress import __version__
from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

TIMEOUT = 10
FILES = {"app/1.0/app.tgz": b"x" * 1000, "app/1.1/app.tgz": b"y" * 24, "lib/2.0/lib.tgz": b"z"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("metrics") / "home"
    with ServerProcess(home, {"ARTIFORTRESS_WORKERS": "2", "ARTIFORTRESS_THREADS": "2"}) as running:
        # Before any scrape: the inventory a worker counts is kept for 30 seconds.
        publish(running)
        yield running


def publish(server: ServerProcess) -> None:
    token = server.cli("admin", "create-token", "--user", "admin", "--admin").stdout.split()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    for key, format_name in (("files", "generic"), ("js", "npm")):
        created = requests.post(
            f"{server.base_url}/v1/repos",
            json={"key": key, "format": format_name},
            headers=auth,
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
    for path, data in FILES.items():
        headers = {**auth, "X-Checksum-Sha256": hashlib.sha256(data).hexdigest()}
        put = requests.put(
            f"{server.base_url}/generic/files/{path}", data=data, headers=headers, timeout=TIMEOUT
        )
        assert put.status_code == 201, put.text


def scrape(server: ServerProcess) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of one ``/metrics`` answer, by sample name."""
    answer = requests.get(f"{server.base_url}/metrics", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_build_info_names_the_release(server: ServerProcess) -> None:
    labels = {"version": __version__, "python": platform.python_version()}
    assert scrape(server)["artifortress_build_info"] == [(labels, 1.0)]


def test_process_metrics_of_the_master_and_each_worker(server: ServerProcess) -> None:
    assert server.process is not None
    for _ in range(4):  # whichever worker answers reports every process
        metrics = scrape(server)
        for name in (
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_start_time_seconds",
        ):
            by_role: dict[str, list[str]] = {}
            for labels, value in metrics[name]:
                by_role.setdefault(labels["role"], []).append(labels["pid"])
                assert value > 0 or name == "process_cpu_seconds_total", (name, labels)
            assert by_role["master"] == [str(server.process.pid)], name
            assert len(set(by_role["worker"])) == 2, name
            assert len(by_role.get("subprocess", [])) <= 1, name  # the embedded event worker


def test_inventory_gauges_after_publishing(server: ServerProcess) -> None:
    for _ in range(4):  # each worker counts on its first scrape, after the publishes
        metrics = scrape(server)
        gauges = {
            (name, labels.get("format", "")): value
            for name in (
                "artifortress_repositories",
                "artifortress_packages",
                "artifortress_published_versions",
                "artifortress_stored_blobs",
                "artifortress_stored_bytes",
            )
            for labels, value in metrics[name]
        }
        assert gauges == {
            ("artifortress_repositories", "generic"): 1,
            ("artifortress_repositories", "npm"): 1,
            ("artifortress_packages", "generic"): 2,
            ("artifortress_published_versions", "generic"): 3,
            ("artifortress_stored_blobs", ""): 3,
            ("artifortress_stored_bytes", ""): sum(len(data) for data in FILES.values()),
        }


def local_references(text: str) -> list[str]:
    """Every URL an HTML page or a stylesheet makes the browser load; fails on a foreign one."""
    found = re.findall(r'(?:src|href)="([^"]*)"', text)
    found += [url.strip("'\"") for url in re.findall(r"url\(([^)]*)\)", text)]
    for url in found:
        assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE), url
        assert not url.startswith(("http:", "https:")), url
    return found


def test_swagger_ui_is_served_by_the_gateway_alone(server: ServerProcess) -> None:
    page = requests.get(f"{server.base_url}/v1/docs", timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assets = local_references(page.text)
    assert {"docs/swagger-ui-bundle.js", "docs/swagger-ui.css"} <= set(assets)
    for asset in assets:
        answer = requests.get(f"{server.base_url}/v1/{asset}", timeout=TIMEOUT)
        assert answer.status_code == 200, asset
        if asset.endswith(".css"):
            assert all(url.startswith("data:") for url in local_references(answer.text))
        if asset == "docs/artifortress-docs.js":
            assert '"openapi.json"' in answer.text
            assert "http" not in answer.text
    bundle = requests.get(f"{server.base_url}/v1/docs/swagger-ui-bundle.js", timeout=TIMEOUT)
    assert "SwaggerUIBundle" in bundle.text
    assert bundle.headers["Content-Type"].startswith("text/javascript")


def test_operational_routes_are_in_the_served_document(server: ServerProcess) -> None:
    document = requests.get(f"{server.base_url}/v1/openapi.json", timeout=TIMEOUT).json()
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(metrics["content"]) == ["text/plain"]
    assert {"200", "503"} <= set(document["paths"]["/readyz"]["get"]["responses"])
    assert "200" in document["paths"]["/healthz"]["get"]["responses"]
