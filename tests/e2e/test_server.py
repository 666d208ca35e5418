"""The real server: ``artifortress serve`` under gunicorn with 2 workers, over loopback HTTP.

This is the code path of ``make serve``; the tests drive it the way an
operator with curl would: a token from the CLI, then plain HTTP requests.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from artifortress.testing.server import ServerProcess

pytestmark = [pytest.mark.e2e]

TIMEOUT = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("serve") / "home"
    scratch = tmp_path_factory.mktemp("tmpdir")
    environ = {
        "ARTIFORTRESS_WORKERS": "2",
        "ARTIFORTRESS_THREADS": "4",
        "ARTIFORTRESS_LOG_FORMAT": "json",
        # The server makes its metrics folder in TMPDIR, where the test finds it.
        "TMPDIR": str(scratch),
    }
    with ServerProcess(home, environ) as running:
        yield running
    assert running.process is not None
    assert running.process.returncode == 0, running.output


@pytest.fixture(scope="module")
def metrics_dir(server: ServerProcess) -> Path:
    """The folder ``artifortress serve`` made for its workers' samples."""
    (folder,) = Path(server.environ["TMPDIR"]).glob("artifortress-metrics-*")
    return folder


@pytest.fixture(scope="module")
def admin_token(server: ServerProcess) -> str:
    done = server.cli("admin", "create-token", "--user", "admin", "--admin")
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("afpat_"), done.stdout
    return token


def call(
    server: ServerProcess, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    """One request on a new connection (``requests`` without a session), like curl."""
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(
        method, server.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs
    )


def test_first_start_prints_how_to_get_an_admin_token(server: ServerProcess) -> None:
    assert "No administrator yet" in server.stdout
    assert "artifortress admin create-token --user admin --admin" in server.stdout
    assert f"serving on http://127.0.0.1:{server.port}/" in server.stdout


def test_operator_flow_with_plain_http(server: ServerProcess, admin_token: str) -> None:
    created = call(
        server, "POST", "/v1/repos", admin_token, json={"key": "libs", "format": "generic"}
    )
    assert created.status_code == 201, created.text
    assert (
        call(server, "POST", "/v1/users", admin_token, json={"name": "reader"}).status_code == 201
    )
    bound = call(
        server, "PUT", "/v1/repos/libs/bindings/reader", admin_token, json={"roles": ["read"]}
    )
    assert bound.status_code == 200, bound.text
    issued = call(server, "POST", "/v1/tokens", admin_token, json={"name": "ci", "user": "reader"})
    assert issued.status_code == 201, issued.text
    reader = issued.json()["token"]

    anonymous = call(server, "GET", "/v1/repos/libs")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="artifortress"'
    assert call(server, "GET", "/v1/repos/libs", reader).status_code == 200
    basic = call(server, "GET", "/v1/repos/libs", auth=("__token__", reader))
    assert basic.status_code == 200
    assert call(server, "GET", "/v1/repos/libs", "afpat_not_a_token").status_code == 401
    denied = call(server, "PATCH", "/v1/repos/libs", reader, json={"description": "mine"})
    assert denied.status_code == 403, denied.text
    assert call(server, "GET", "/v1/audit", reader).status_code == 403

    revoked_at = revoke_and_wait(server, admin_token, reader, issued.json()["id"])

    audit = call(server, "GET", "/v1/audit", admin_token, params={"limit": 100})
    assert audit.status_code == 200, audit.text
    entries = audit.json()["entries"]
    seen = {(e["action"], e["actor"], e["outcome"]) for e in entries}
    assert {
        ("token.create", "cli", "success"),
        ("repo.create", "admin", "success"),
        ("user.create", "admin", "success"),
        ("binding.set", "admin", "success"),
        ("token.create", "admin", "success"),
        ("repo.update", "reader", "denied"),
        ("audit.read", "reader", "denied"),
        ("token.revoke", "admin", "success"),
    } <= seen, seen
    repo_create = next(e for e in entries if e["action"] == "repo.create")
    assert repo_create["request_id"] == created.headers["X-Request-Id"]
    assert repo_create["client_addr"] == "127.0.0.1"
    assert revoked_at > 0


def revoke_and_wait(server: ServerProcess, admin: str, token: str, token_id: str) -> float:
    """Revoke *token*; within one second no worker may accept it any more."""
    for _ in range(6):  # both workers now hold the token in their cache
        assert call(server, "GET", "/v1/whoami", token).status_code == 200
    revoked = call(server, "DELETE", f"/v1/tokens/{token_id}", admin)
    assert revoked.status_code == 200, revoked.text
    done = time.monotonic()
    time.sleep(max(0.0, done + 1.0 - time.monotonic()))
    statuses = [call(server, "GET", "/v1/whoami", token).status_code for _ in range(8)]
    assert statuses == [401] * 8, statuses
    return done


def route_samples(families: Any, name: str, route: str) -> dict[str, float]:
    """``{sample name + status: value}`` of metric *name* for GET *route*."""
    found: dict[str, float] = {}
    for family in families:
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.labels.get("route") == route and sample.labels.get("method") == "GET":
                key = sample.name + sample.labels.get("status", "")
                found[key] = found.get(key, 0.0) + sample.value
    return found


def scrape(server: ServerProcess, route: str) -> tuple[float, float]:
    """(requests counted with status 200, latency observations) of GET *route* from /metrics."""
    exposition = call(server, "GET", "/metrics")
    assert exposition.status_code == 200
    assert exposition.headers["Content-Type"].startswith("text/plain")
    families = list(text_string_to_metric_families(exposition.text))
    counted = route_samples(families, "artifortress_http_requests", route)
    latency = route_samples(families, "artifortress_http_request_duration_seconds", route)
    return (
        counted.get("artifortress_http_requests_total200", 0.0),
        latency.get("artifortress_http_request_duration_seconds_count", 0.0),
    )


def per_worker(metrics_dir: Path, route: str, scratch: Path) -> dict[str, float]:
    """The 200-counter of GET *route* as each worker process wrote it (one file per PID)."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = scratch / path.stem
        alone.mkdir(parents=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, str(alone))
        samples = route_samples(registry.collect(), "artifortress_http_requests", route)
        counts[path.stem] = samples.get("artifortress_http_requests_total200", 0.0)
    return counts


def test_metrics_count_every_request_across_workers(
    server: ServerProcess, admin_token: str, metrics_dir: Path, tmp_path: Path
) -> None:
    route = "/v1/users"
    before, _ = scrape(server, route)
    sent = 0
    workers: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for batch in range(10):  # until both workers have served some of them
            futures = [pool.submit(call, server, "GET", route, admin_token) for _ in range(12)]
            assert [f.result().status_code for f in futures] == [200] * len(futures)
            sent += len(futures)
            workers = per_worker(metrics_dir, route, tmp_path / str(batch))
            if sum(1 for count in workers.values() if count > 0) >= 2:
                break
    assert sum(1 for count in workers.values() if count > 0) >= 2, workers
    assert sum(workers.values()) == before + sent, workers

    # Whichever worker answers /metrics reports the sum over all of them.
    for _ in range(6):
        counted, observed = scrape(server, route)
        assert counted == before + sent
        assert observed == counted  # every GET /v1/users so far answered 200


def test_logs_are_json_lines_carrying_the_request_id(server: ServerProcess) -> None:
    answer = call(server, "GET", "/healthz", headers={"X-Request-Id": "probe-12345678"})
    assert answer.headers["X-Request-Id"] == "probe-12345678"
    fresh = call(server, "GET", "/v1/openapi.json")
    generated = fresh.headers["X-Request-Id"]
    assert len(generated) >= 16

    # Each worker writes its access lines in batches (every 0.2 s): wait for both.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(
        request_id in server.stderr for request_id in (generated, "probe-12345678")
    ):
        time.sleep(0.05)
    records = [json.loads(line) for line in server.stderr.splitlines() if line.strip()]
    assert all(isinstance(record, dict) for record in records)
    access = {r["request_id"]: r for r in records if r.get("logger") == "artifortress.access"}
    assert access["probe-12345678"]["path"] == "/healthz"
    assert access[generated]["status"] == 200
    assert any(r.get("logger", "").startswith("gunicorn") for r in records)


def test_serve_stops_cleanly_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGTERM ends the server with 0; its metrics folder and no control socket remain."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    environ = {"ARTIFORTRESS_WORKERS": "1", "TMPDIR": str(scratch), "HOME": str(tmp_path)}
    running = ServerProcess(tmp_path / "home", environ).start()
    assert call(running, "GET", "/healthz").status_code == 200
    assert list(scratch.glob("artifortress-metrics-*")), "the metrics folder was not made"
    assert running.stop() == 0, running.output
    assert not list(scratch.glob("artifortress-metrics-*")), running.output
    assert not (tmp_path / ".gunicorn").exists()
