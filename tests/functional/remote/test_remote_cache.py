"""``/v1/repos/{repo}/cache``: what a remote has cached, purging it, and its /metrics counters."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, update

from artifortress.blobs.models import Blob
from artifortress.gc.services import collect
from artifortress.remote.documents import prune_negative
from artifortress.remote.models import RemoteDocument

BYTES = b"cached bytes" * 100
SHA256 = hashlib.sha256(BYTES).hexdigest()
FILE_URL = "/upstreamtest/up/file/tool/1.0/tool-1.0.tgz"


def warm(admin, upstream) -> None:
    upstream.serve("/docs/index", b"an index", content_type="text/plain")
    upstream.serve("/files/tool-1.0.tgz", BYTES)
    assert admin.get("/upstreamtest/up/doc/index").status_code == 200
    assert admin.get(FILE_URL, params={"sha256": SHA256}).status_code == 200


def test_the_cache_lists_documents_and_file_totals(admin, make_remote, upstream):
    make_remote("up")
    warm(admin, upstream)
    report = admin.get("/v1/repos/up/cache")
    assert report.status_code == 200, report.text
    (document,) = report.json["documents"]
    assert document["key"] == "docs/index"
    assert (document["status"], document["size"], document["expired"]) == (200, 8, False)
    assert document["content_type"] == "text/plain"
    assert document["fetched_at"]
    assert report.json["metadata_ttl"] == 600
    assert report.json["files"] == {"versions": 1, "count": 1, "bytes": len(BYTES)}
    assert report.json["next_after"] is None


def test_documents_come_in_pages(admin, make_remote, upstream):
    make_remote("up")
    for name in ("a", "b", "c"):
        upstream.serve(f"/docs/{name}", name.encode())
        assert admin.get(f"/upstreamtest/up/doc/{name}").status_code == 200
    first = admin.get("/v1/repos/up/cache", params={"limit": 2}).json
    assert [d["key"] for d in first["documents"]] == ["docs/a", "docs/b"]
    after = first["next_after"]
    second = admin.get("/v1/repos/up/cache", params={"limit": 2, "after": after}).json
    assert [d["key"] for d in second["documents"]] == ["docs/c"]
    assert second["next_after"] is None


def test_an_expired_document_says_so(admin, make_remote, upstream):
    make_remote("up", ttl=0)
    upstream.serve("/docs/index", b"an index")
    admin.get("/upstreamtest/up/doc/index")
    (document,) = admin.get("/v1/repos/up/cache").json["documents"]
    assert document["expired"] is True


def test_purging_metadata_makes_the_next_request_fetch_again(admin, make_remote, upstream):
    make_remote("up")
    warm(admin, upstream)
    purged = admin.delete("/v1/repos/up/cache")
    assert purged.status_code == 200, purged.text
    assert purged.json == {"documents": 1, "versions": 0}
    assert admin.get("/v1/repos/up/cache").json["documents"] == []
    assert admin.get("/upstreamtest/up/doc/index").status_code == 200
    assert upstream.hits["/docs/index"] == 2
    assert admin.get(FILE_URL, params={"sha256": SHA256}).content == BYTES, "files stay"
    assert upstream.hits["/files/tool-1.0.tgz"] == 1
    audit = admin.get("/v1/audit", params={"repo": "up"}).json["entries"]
    (row,) = [e for e in audit if e["action"] == "remote.cache.purge"]
    assert row["outcome"] == "success"


def test_purging_files_tombstones_them_for_the_collector(admin, make_remote, upstream):
    make_remote("up")
    warm(admin, upstream)
    purged = admin.delete("/v1/repos/up/cache", params={"files": "true"})
    assert purged.json == {"documents": 1, "versions": 1}
    assert admin.get("/v1/repos/up/cache").json["files"] == {"versions": 0, "count": 0, "bytes": 0}
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0")
    assert version.status_code in (404, 410)


def collect_garbage(services) -> None:
    """A GC pass that takes every unreferenced blob, tombstones' included (no retention)."""
    collect(services.sessions, services.blobs, grace_seconds=0, retention_seconds=0)


@pytest.mark.parametrize("route", ["file", "stream"])
@pytest.mark.parametrize("collected", [False, True], ids=["kept", "collected"])
def test_a_purged_file_is_fetched_again_and_its_version_restored(
    admin, make_remote, upstream, services, route, collected
):
    make_remote("up")
    warm(admin, upstream)
    admin.delete("/v1/repos/up/cache", params={"files": "true"})
    if collected:
        collect_garbage(services)
        assert services.blobs.size_of(f"sha256:{SHA256}") is None
    url = FILE_URL.replace("/file/", f"/{route}/")
    again = admin.get(url, params={"sha256": SHA256})
    assert (again.status_code, again.content) == (200, BYTES), again.text
    assert upstream.hits["/files/tool-1.0.tgz"] == 2
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert (version["state"], version["published_by"]) == ("published", "remote:up")
    assert admin.get(url, params={"sha256": SHA256}).content == BYTES
    assert upstream.hits["/files/tool-1.0.tgz"] == 2, "kept again"
    audit = admin.get("/v1/audit", params={"repo": "up"}).json["entries"]
    assert [e["action"] for e in audit].count("version.restore") == 1


@pytest.mark.parametrize("route", ["file", "stream"])
def test_an_upstream_that_changed_a_purged_file_is_refused(
    admin, make_remote, upstream, services, route
):
    make_remote("up")
    warm(admin, upstream)
    admin.delete("/v1/repos/up/cache", params={"files": "true"})
    collect_garbage(services)
    upstream.serve("/files/tool-1.0.tgz", b"other bytes under the same name")
    url = FILE_URL.replace("/file/", f"/{route}/")
    # No checksum announced: the bytes once served under the name decide. (A streamed
    # plain GET would end short; a range is answered after the fetch, with the error.)
    refused = admin.get(url, headers={"Range": "bytes=0-1"} if route == "stream" else {})
    assert refused.status_code == 502
    message = refused.json["error"]["message"]
    assert "changed tool-1.0.tgz after it was cached" in message
    assert "an artifact's bytes never change" in message
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0")
    assert version.status_code in (404, 410)
    assert admin.get("/v1/repos/up/cache").json["files"]["count"] == 0
    with services.sessions() as db:
        stored = db.scalars(select(Blob.digest).where(Blob.collected_at.is_(None))).all()
    assert stored == [], "nothing of the changed bytes was stored"
    upstream.serve("/files/tool-1.0.tgz", BYTES)
    assert admin.get(url).content == BYTES


def test_a_version_of_a_remote_is_deleted_only_by_purging_the_cache(admin, make_remote, upstream):
    make_remote("up")
    warm(admin, upstream)
    refused = admin.delete("/v1/repos/up/packages/tool/versions/1.0")
    assert refused.status_code == 405, refused.text
    assert admin.get("/v1/repos/up/packages/tool/versions/1.0").json["state"] == "published"


def test_each_file_of_a_restored_version_whose_bytes_were_collected_is_fetched_again(
    admin, make_remote, upstream, services
):
    make_remote("up")
    names = ["tool-1.0-a.whl", "tool-1.0-b.whl"]
    for name in names:
        upstream.serve(f"/files/{name}", name.encode() * 10)
        assert admin.get(f"/upstreamtest/up/file/tool/1.0/{name}").status_code == 200
    admin.delete("/v1/repos/up/cache", params={"files": "true"})
    collect_garbage(services)
    for name in names:  # the first restores the version, the second finds its bytes gone
        answer = admin.get(f"/upstreamtest/up/stream/tool/1.0/{name}")
        assert (answer.status_code, answer.content) == (200, name.encode() * 10)
        assert upstream.hits[f"/files/{name}"] == 2


def test_a_purge_leaves_a_version_a_policy_holds_held(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve("/files/held-1.0.tgz", BYTES)
    url = "/upstreamtest/up/file/held/1.0/held-1.0.tgz"
    assert admin.get(url).status_code == 403
    assert admin.delete("/v1/repos/up/cache", params={"files": "true"}).json["versions"] == 0
    assert admin.get(url).status_code == 403
    assert upstream.hits["/files/held-1.0.tgz"] == 1


def test_only_admins_see_or_purge_and_only_remotes_have_a_cache(
    admin, api_factory, make_remote, make_repo, upstream
):
    make_remote("up")
    reader = api_factory.as_user("reader")
    assert admin.put("/v1/repos/up/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert reader.get("/v1/repos/up/cache").status_code == 403
    assert reader.delete("/v1/repos/up/cache").status_code == 403
    make_repo("hosted", format="generic")
    refused = admin.get("/v1/repos/hosted/cache")
    assert refused.status_code == 409
    assert "not remote" in refused.json["error"]["message"]
    assert admin.delete("/v1/repos/up/cache", params={"files": "maybe"}).status_code == 400


def test_metrics_show_the_remote_counters_after_a_fetch(admin, anonymous, make_remote, upstream):
    make_remote("metered")
    upstream.serve("/docs/index", b"an index")
    assert admin.get("/upstreamtest/metered/doc/index").status_code == 200
    exposed = anonymous.get("/metrics").text
    lines = [line for line in exposed.splitlines() if 'repository="metered"' in line]
    assert any(line.startswith("artifortress_upstream_requests_total{") for line in lines)
    assert any(line.startswith("artifortress_upstream_cache_misses_total{") for line in lines)
    assert any(line.startswith("artifortress_upstream_bytes_total{") for line in lines)


@pytest.mark.parametrize("params", [{"limit": "-1"}, {"limit": "abc"}, {"limit": "1e99"}])
def test_a_bad_limit_on_the_cache_report_is_4xx(admin, make_remote, params):
    make_remote("up")
    answer = admin.get("/v1/repos/up/cache", params=params)
    assert 400 <= answer.status_code < 500, answer.text


def test_a_purge_with_a_bad_files_flag_purges_nothing(admin, make_remote, upstream):
    make_remote("up")
    warm(admin, upstream)
    assert admin.delete("/v1/repos/up/cache", params={"files": "maybe"}).status_code == 400
    report = admin.get("/v1/repos/up/cache").json
    assert len(report["documents"]) == 1
    assert report["files"]["versions"] == 1


def test_expired_not_found_entries_are_pruned_and_nothing_else(
    admin, make_remote, upstream, services
):
    make_remote("up")
    upstream.serve("/docs/index", b"an index")
    assert admin.get("/upstreamtest/up/doc/index").status_code == 200
    for name in ("gone-a", "gone-b"):  # names upstream lacks: one entry each
        assert admin.get(f"/upstreamtest/up/doc/{name}").status_code == 404
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with services.sessions.begin() as db:
        db.execute(  # everything but gone-b was last checked an hour ago
            update(RemoteDocument)
            .where(RemoteDocument.key != "docs/gone-b")
            .values(checked_at=an_hour_ago, fetched_at=an_hour_ago)
        )
    with services.sessions.begin() as db:
        assert prune_negative(db, dt.datetime.now(dt.UTC)) == 1
    keys = [d["key"] for d in admin.get("/v1/repos/up/cache").json["documents"]]
    assert keys == ["docs/gone-b", "docs/index"]  # the fresh miss and the document stay
