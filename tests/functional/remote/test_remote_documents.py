"""Upstream metadata through Gateway.upstream_document: TTL, revalidation, stale-if-error, 404s."""

from __future__ import annotations

import logging
import time

from prometheus_client import REGISTRY
from sqlalchemy import update

from artifortress.remote.models import RemoteDocument
from artifortress.repos.models import RepositoryUpstream

DOC = "/docs/index.json"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_document_is_fetched_once_then_served_from_the_cache(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(DOC, b'{"v": 1}', content_type="application/json")
    hits_before = sample("artifortress_upstream_cache_hits_total", repository="up", kind="document")
    first = admin.get("/upstreamtest/up/doc/index.json")
    assert first.status_code == 200, first.text
    assert first.content == b'{"v": 1}'
    assert first.headers["content-type"] == "application/json"
    upstream.serve(DOC, b'{"v": 2}', content_type="application/json")
    assert admin.get("/upstreamtest/up/doc/index.json").content == b'{"v": 1}'  # within the TTL
    assert upstream.hits[DOC] == 1
    hits = sample("artifortress_upstream_cache_hits_total", repository="up", kind="document")
    assert hits == hits_before + 1


def test_an_expired_document_is_revalidated_and_a_304_keeps_it(admin, make_remote, upstream):
    make_remote("up", ttl=0)
    upstream.serve(DOC, b"v1", etag='"one"')
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"v1"
    again = admin.get("/upstreamtest/up/doc/index.json")
    assert (again.status_code, again.content, again.headers["x-stale"]) == (200, b"v1", "no")
    assert upstream.hits[DOC] == 2  # asked, answered 304
    upstream.serve(DOC, b"v2", etag='"two"')
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"v2"


def test_upstream_down_serves_the_stale_copy(admin, make_remote, upstream):
    make_remote("up", ttl=0)
    upstream.serve(DOC, b"kept")
    admin.get("/upstreamtest/up/doc/index.json")
    upstream.serve(DOC, b"", status=500)
    stale = admin.get("/upstreamtest/up/doc/index.json")
    assert (stale.status_code, stale.content, stale.headers["x-stale"]) == (200, b"kept", "yes")


def test_upstream_down_without_a_copy_is_a_502_naming_the_host(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(DOC, b"", status=500)
    answer = admin.get("/upstreamtest/up/doc/index.json")
    assert answer.status_code == 502
    assert "127.0.0.1" in answer.text
    assert "500" in answer.text


def test_a_404_upstream_is_remembered_briefly(admin, make_remote, upstream):
    make_remote("up")
    assert admin.get("/upstreamtest/up/doc/missing.json").status_code == 404
    assert admin.get("/upstreamtest/up/doc/missing.json").status_code == 404
    assert upstream.hits["/docs/missing.json"] == 1


def test_failures_are_retried(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(DOC, b"after a retry", failures=[503])
    answer = admin.get("/upstreamtest/up/doc/index.json")
    assert (answer.status_code, answer.content) == (200, b"after a retry")
    assert upstream.hits[DOC] == 2


def test_a_stalled_upstream_fails_within_the_timeouts(admin, make_remote, upstream):
    make_remote("up")  # connect and read timeouts of 1s each (conftest)
    upstream.serve(DOC, b"late", delay=5)
    started = time.monotonic()
    answer = admin.get("/upstreamtest/up/doc/index.json")
    assert answer.status_code == 502
    assert time.monotonic() - started < 2.5


def test_a_body_that_stalls_fails_within_the_timeouts(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(DOC, b"x" * 1000, stall_mid_body=5)
    started = time.monotonic()
    assert admin.get("/upstreamtest/up/doc/index.json").status_code == 502
    assert time.monotonic() - started < 2.5


def test_credentials_reach_upstream_but_no_message_or_log(admin, make_remote, upstream, caplog):
    make_remote("up", username="robot", password="s3cret-pw")
    upstream.serve(DOC, b"private")
    caplog.set_level(logging.DEBUG)
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"private"
    assert upstream.authorizations == ["Basic cm9ib3Q6czNjcmV0LXB3"]  # robot:s3cret-pw
    upstream.serve("/docs/broken.json", b"", status=500)
    failed = admin.get("/upstreamtest/up/doc/broken.json")
    assert failed.status_code == 502
    assert "s3cret" not in failed.text
    assert "s3cret" not in caplog.text
    assert "cm9ib3Q6czNjcmV0LXB3" not in caplog.text


def test_a_document_cut_short_is_never_cached(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(DOC, b"x" * 1000, cut_after=10)
    assert admin.get("/upstreamtest/up/doc/index.json").status_code == 502
    upstream.serve(DOC, b"whole")
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"whole"


def test_an_upstream_refusing_connections_is_a_502_after_the_retries(
    admin, make_remote, services, upstream
):
    make_remote("up")
    with services.sessions.begin() as db:  # a port nobody listens on
        db.execute(update(RepositoryUpstream).values(url="http://127.0.0.1:9/"))
    answer = admin.get("/upstreamtest/up/doc/index.json")
    assert answer.status_code == 502
    assert "127.0.0.1:9 refused or could not be reached" in answer.json["error"]["message"]


def test_an_upstream_that_timed_out_is_left_alone_for_a_while(admin, make_remote, upstream):
    make_remote("up", ttl=0)
    upstream.serve(DOC, b"kept")
    admin.get("/upstreamtest/up/doc/index.json")
    upstream.serve(DOC, b"late", delay=5)
    assert admin.get("/upstreamtest/up/doc/index.json").headers["x-stale"] == "yes"  # waited
    started = time.monotonic()
    again = admin.get("/upstreamtest/up/doc/index.json")
    assert (again.content, again.headers["x-stale"]) == (b"kept", "yes")
    assert time.monotonic() - started < 0.5  # not asked: served at once
    missing = admin.get("/upstreamtest/up/doc/other.json")
    assert missing.status_code == 502
    assert "asked again" in missing.json["error"]["message"]
    assert upstream.hits[DOC] == 2


def test_retries_are_bounded_by_the_setting(admin, make_remote, upstream):
    make_remote("up")  # ARTIFORTRESS_UPSTREAM_RETRIES=1 (conftest)
    upstream.serve(DOC, b"never", failures=[503, 503, 503])
    answer = admin.get("/upstreamtest/up/doc/index.json")
    assert answer.status_code == 502
    assert "answered 503" in answer.json["error"]["message"]
    assert upstream.hits[DOC] == 2


def test_an_upstream_url_saved_without_its_slash_is_read_as_a_base(
    admin, make_remote, upstream, services
):
    make_remote("up")
    with services.sessions.begin() as db:  # a row saved before URLs were normalized
        db.execute(update(RepositoryUpstream).values(url=upstream.url + "base"))
    upstream.serve("/base/docs/index.json", b"under the base")
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"under the base"
    assert admin.get("/v1/repos/up").json["upstream"]["url"] == upstream.url + "base/"


def test_a_hit_reads_the_body_from_the_database_once_per_fetch(
    admin, make_remote, upstream, services
):
    make_remote("up")
    upstream.serve(DOC, b"first body")
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"first body"  # fetched
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"first body"  # read, kept
    with services.sessions.begin() as db:  # the row's body, behind the process's back
        db.execute(update(RemoteDocument).values(body=b"not read again"))
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"first body"
    admin.delete("/v1/repos/up/cache")
    upstream.serve(DOC, b"second body")
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"second body"  # a new fetch
    assert admin.get("/upstreamtest/up/doc/index.json").content == b"second body"
    assert upstream.hits[DOC] == 2


def test_an_upstream_answering_503_after_the_retries_is_left_alone_for_a_while(
    admin, make_remote, upstream
):
    """A front proxy of an upstream that is down answers 503: as down as a refused connection."""
    make_remote("up", ttl=0)
    upstream.serve(DOC, b"kept")
    admin.get("/upstreamtest/up/doc/index.json")
    upstream.serve(DOC, b"", status=503)
    assert admin.get("/upstreamtest/up/doc/index.json").headers["x-stale"] == "yes"  # retried
    assert upstream.hits[DOC] == 3  # the first fetch, then a try and its retry
    again = admin.get("/upstreamtest/up/doc/index.json")
    assert (again.content, again.headers["x-stale"]) == (b"kept", "yes")  # at once
    missing = admin.get("/upstreamtest/up/doc/other.json")
    assert missing.status_code == 502
    assert "answered 503 to every try" in missing.json["error"]["message"]
    assert "asked again" in missing.json["error"]["message"]
    assert upstream.hits[DOC] == 3, "not asked while it is down"
    assert upstream.hits["/docs/other.json"] == 0
