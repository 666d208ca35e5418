"""Online garbage collection: what it reclaims, what it must never touch."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import text

from artifortress.db.base import utcnow
from artifortress.gc.services import collect
from tests.functional.versions_helpers import release, upload

R = "/v1/repos/libs"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def scene(admin, make_repo):
    """A live version, a deleted one, an orphan upload and an upload in flight."""
    make_repo("libs", format="generic")
    release(admin, "libs", "tool", "1.0", {"live.bin": b"live bytes"})
    release(admin, "libs", "tool", "2.0", {"dead.bin": b"deleted version bytes"})
    assert admin.delete(f"{R}/packages/tool/versions/2.0").status_code == 200
    upload(admin, "libs", b"orphan bytes never published")
    pending = b"in flight" * 1000
    session = admin.post(f"{R}/uploads", {"digest": _digest(pending), "size": len(pending)}).json
    part = admin.client.simulate_request(
        "PUT", f"{R}/uploads/{session['id']}/parts/1", headers=admin.headers(), body=pending
    )
    assert part.status_code < 300, part.text
    return {"pending": pending, "session": session["id"]}


def _collect(services, **kwargs):
    return collect(
        services.sessions, services.blobs, grace_seconds=0, retention_seconds=0, **kwargs
    )


def test_dry_run_reports_and_deletes_nothing(services, admin, scene):
    report = _collect(services, dry_run=True)
    assert report.collected == 2
    assert report.bytes_reclaimed == len(b"deleted version bytes") + len(
        b"orphan bytes never published"
    )
    for data in (b"deleted version bytes", b"orphan bytes never published"):
        assert services.blobs.size_of(_digest(data)) == len(data)


def test_collects_deleted_and_orphan_blobs_only(services, admin, scene):
    report = _collect(services)
    assert (report.collected, report.skipped) == (2, 0)
    assert report.bytes_reclaimed == len(b"deleted version bytes") + len(
        b"orphan bytes never published"
    )
    assert services.blobs.size_of(_digest(b"deleted version bytes")) is None
    assert services.blobs.size_of(_digest(b"orphan bytes never published")) is None
    live = admin.get(f"{R}/blobs/{_digest(b'live bytes')}")
    assert (live.status_code, live.content) == (200, b"live bytes")
    assert admin.get(f"{R}/blobs/{_digest(b'deleted version bytes')}").status_code == 404
    done = admin.post(f"{R}/uploads/{scene['session']}/complete")
    assert done.status_code in (200, 201), done.text
    fetched = admin.get(f"{R}/blobs/{_digest(scene['pending'])}")
    assert fetched.content == scene["pending"]
    assert admin.post(f"{R}/packages/tool/versions/2.0/restore").status_code == 410


def test_grace_period_protects_young_blobs(services, scene):
    report = collect(services.sessions, services.blobs, grace_seconds=3600, retention_seconds=0)
    assert report.collected == 0


def test_retention_protects_deleted_versions(services, admin, scene):
    report = collect(services.sessions, services.blobs, grace_seconds=0, retention_seconds=3600)
    assert report.collected == 1  # only the orphan
    assert admin.post(f"{R}/packages/tool/versions/2.0/restore").status_code == 200


def test_collected_bytes_can_be_uploaded_again(services, admin, scene):
    _collect(services)
    data = b"orphan bytes never published"
    created = admin.post(f"{R}/uploads", {"digest": _digest(data), "size": len(data)})
    assert created.status_code == 201, "a collected blob must not be offered as a duplicate"
    assert upload(admin, "libs", data) == _digest(data)
    release(admin, "libs", "tool", "3.0", {"again.bin": data})
    assert admin.get(f"{R}/blobs/{_digest(data)}").content == data


def test_expired_drafts_are_discarded_and_release_their_blobs(services, admin, make_repo):
    make_repo("libs", format="generic")
    opened = admin.post(f"{R}/packages/versions/drafts", {"package": "tool", "version": "9.0"})
    assert opened.status_code == 201
    data = b"bytes of an abandoned draft"
    added = admin.post(
        f"{R}/packages/versions/drafts/{opened.json['id']}/artifacts",
        {"filename": "x.bin", "digest": upload(admin, "libs", data)},
    )
    assert added.status_code == 201
    assert _collect(services).collected == 0, "an open draft keeps its blobs"
    with services.engine.begin() as conn:
        conn.execute(
            text("UPDATE versions SET expires_at = :past WHERE id = :id"),
            {"past": utcnow() - dt.timedelta(hours=1), "id": opened.json["id"]},
        )
    report = _collect(services)
    assert (report.discarded_drafts, report.collected) == (1, 1)
    assert services.blobs.size_of(_digest(data)) is None
    assert admin.get(f"{R}/packages/versions/drafts/{opened.json['id']}").status_code == 404
