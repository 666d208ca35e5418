"""Upstream files through Gateway.upstream_file: fetched once, verified, published, counted."""

from __future__ import annotations

import base64
import hashlib
import threading
import time

import pytest
from prometheus_client import REGISTRY

from tests.support.upstream import Upstream

BYTES = b"the tarball" * 1000
SHA256 = hashlib.sha256(BYTES).hexdigest()
FILE = "/files/tool-1.0.tgz"
URL = "/upstreamtest/up/file/tool/1.0/tool-1.0.tgz"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_file_is_fetched_once_and_published_with_its_provenance(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    first = admin.get(URL, params={"sha256": SHA256})
    assert (first.status_code, first.content) == (200, BYTES), first.text
    assert admin.get(URL, params={"sha256": SHA256}).content == BYTES
    assert upstream.hits[FILE] == 1
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert version["published_by"] == "remote:up"
    (artifact,) = version["artifacts"]
    assert artifact["metadata"]["upstream"]["url"] == upstream.url + FILE.lstrip("/")
    assert artifact["metadata"]["upstream"]["fetched_at"]
    assert version["metadata"]["upstream"]["url"] == artifact["metadata"]["upstream"]["url"]


def test_tampered_bytes_are_a_502_store_nothing_and_the_next_request_retries(
    admin, make_remote, upstream
):
    make_remote("up")
    upstream.serve(FILE, b"not what the index says")
    refused = admin.get(URL, params={"sha256": SHA256})
    assert refused.status_code == 502
    assert "upstream_mismatch" in refused.text
    assert "127.0.0.1" in refused.text
    assert admin.get("/v1/repos/up/packages/tool").status_code == 404
    upstream.serve(FILE, BYTES)
    assert admin.get(URL, params={"sha256": SHA256}).content == BYTES
    assert upstream.hits[FILE] == 2


def test_npm_integrity_is_verified(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES)
    good = "sha512-" + base64.b64encode(hashlib.sha512(BYTES).digest()).decode()
    bad = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    assert admin.get(URL, params={"integrity": bad}).status_code == 502
    answer = admin.get(URL, params={"integrity": f"sha1-AAAA {good}"})
    assert (answer.status_code, answer.content) == (200, BYTES)


def test_a_body_cut_short_is_never_cached(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, cut_after=100)
    broken = admin.get(URL)  # no checksum announced: the length still gives it away
    assert broken.status_code == 502
    assert admin.get("/v1/repos/up/packages/tool").status_code == 404
    upstream.serve(FILE, BYTES)
    assert admin.get(URL).content == BYTES


def test_a_missing_upstream_file_is_a_404(admin, make_remote, upstream):
    make_remote("up")
    assert admin.get(URL).status_code == 404


def test_twenty_concurrent_requests_cause_one_upstream_get(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, delay=0.3)  # all of them ask while the first fetch runs
    results: list[tuple[int, bytes]] = []
    start = threading.Barrier(20)

    def fetch() -> None:
        start.wait()
        answer = admin.get(URL, params={"sha256": SHA256})
        results.append((answer.status_code, answer.content))

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [(200, BYTES)] * 20
    assert upstream.hits[FILE] == 1


def test_metrics_count_misses_hits_bytes_and_errors(admin, make_remote, upstream):
    make_remote("metered")
    url = "/upstreamtest/metered/file/tool/1.0/tool-1.0.tgz"
    upstream.serve(FILE, BYTES)
    labels = {"repository": "metered", "kind": "file"}
    before = {
        "miss": sample("artifortress_upstream_cache_misses_total", **labels),
        "hit": sample("artifortress_upstream_cache_hits_total", **labels),
        "bytes": sample("artifortress_upstream_bytes_total", repository="metered"),
        "mismatch": sample(
            "artifortress_upstream_errors_total", repository="metered", reason="mismatch"
        ),
        **{
            outcome: sample("artifortress_upstream_requests_total", outcome=outcome, **labels)
            for outcome in ("ok", "error")
        },
    }
    assert admin.get(url, params={"sha256": "0" * 64}).status_code == 502
    admin.get(url)
    admin.get(url)
    assert sample("artifortress_upstream_cache_misses_total", **labels) == before["miss"] + 2
    assert sample("artifortress_upstream_cache_hits_total", **labels) == before["hit"] + 1
    bytes_total = sample("artifortress_upstream_bytes_total", repository="metered")
    assert bytes_total == before["bytes"] + 2 * len(BYTES)
    errors = sample("artifortress_upstream_errors_total", repository="metered", reason="mismatch")
    assert errors == before["mismatch"] + 1
    for outcome in ("ok", "error"):  # the mismatch is an error, not also an ok
        count = sample("artifortress_upstream_requests_total", outcome=outcome, **labels)
        assert count == before[outcome] + 1
    exposed = admin.get("/metrics").text
    assert 'artifortress_upstream_cache_hits_total{kind="file",repository="metered"}' in exposed


def test_a_file_that_stalls_mid_body_fails_within_the_read_timeout(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, stall_mid_body=5)
    started = time.monotonic()
    assert admin.get(URL).status_code == 502
    assert time.monotonic() - started < 2.5
    assert admin.get("/v1/repos/up/packages/tool").status_code == 404


def test_a_version_a_policy_holds_is_refused_and_not_fetched_again(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve("/files/held-1.0.tgz", BYTES)
    url = "/upstreamtest/up/file/held/1.0/held-1.0.tgz"
    for _ in range(2):
        refused = admin.get(url)
        assert refused.status_code == 403
        assert "quarantine" in refused.json["error"]["message"]
    assert upstream.hits["/files/held-1.0.tgz"] == 1
    pending = admin.get("/v1/quarantine").json["quarantine"]
    assert [(entry["package"], entry["version"]) for entry in pending] == [("held", "1.0")]


def test_no_write_lock_is_held_while_the_upstream_answers(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BYTES, delay=1.5)
    fetch = threading.Thread(target=admin.get, args=(URL,))
    fetch.start()
    time.sleep(0.3)  # the fetch is waiting for the upstream now
    started = time.monotonic()
    created = admin.post("/v1/repos", {"key": "meanwhile", "format": "generic"})
    assert created.status_code == 201
    assert time.monotonic() - started < 1.0
    fetch.join(timeout=10)


def test_credentials_go_to_the_upstream_origin_only(admin, make_remote, upstream):
    make_remote("up", username="robot", password="s3cret-pw")
    with Upstream().running() as file_host:  # another origin, as PyPI's file host is
        file_host.serve(FILE, BYTES)
        answer = admin.get(URL, params={"from": file_host.url + FILE.lstrip("/")})
        assert (answer.status_code, answer.content) == (200, BYTES)
        assert file_host.authorizations == [None]
    upstream.serve("/files/own-1.0.tgz", BYTES)
    assert admin.get("/upstreamtest/up/file/own/1.0/own-1.0.tgz").status_code == 200
    assert upstream.authorizations == ["Basic cm9ib3Q6czNjcmV0LXB3"]


def test_files_of_one_version_fetched_at_once_all_join_it(admin, make_remote, upstream):
    make_remote("up")
    names = [f"tool-1.0-{n}.whl" for n in range(4)]
    for name in names:
        upstream.serve(f"/files/{name}", name.encode(), delay=0.2)
    answers: dict[str, int] = {}

    def fetch(name: str) -> None:
        answers[name] = admin.get(f"/upstreamtest/up/file/tool/1.0/{name}").status_code

    threads = [threading.Thread(target=fetch, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == dict.fromkeys(names, 200)
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert sorted(a["filename"] for a in version["artifacts"]) == names


def test_requests_waiting_on_a_refused_fetch_share_its_502(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, b"tampered", delay=0.3)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def fetch() -> None:
        start.wait()
        statuses.append(admin.get(URL, params={"sha256": SHA256}).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [502] * 8
    assert upstream.hits[FILE] == 1  # one refused fetch, shared
    upstream.serve(FILE, BYTES)
    assert admin.get(URL, params={"sha256": SHA256}).status_code == 200


@pytest.mark.parametrize("route", ["file", "stream"])
def test_another_file_of_a_held_version_is_refused_before_any_download(
    admin, make_remote, upstream, route
):
    make_remote("up")
    upstream.serve("/files/held-1.0.tgz", BYTES)
    upstream.serve("/files/held-1.0.zip", BYTES)
    assert admin.get("/upstreamtest/up/file/held/1.0/held-1.0.tgz").status_code == 403
    refused = admin.get(f"/upstreamtest/up/{route}/held/1.0/held-1.0.zip")
    assert refused.status_code == 403, refused.text
    assert "quarantine" in refused.json["error"]["message"]
    assert upstream.hits["/files/held-1.0.zip"] == 0, "the publish would refuse it: not fetched"
