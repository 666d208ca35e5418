"""``artifortress scrub`` and healing by re-upload, on the local store and on S3 (moto).

Damage is done the way it happens in the field, below Artifortress: an
object deleted or a byte flipped in the store itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from artifortress import cli
from artifortress.blobs.digests import fan_out
from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.models import Blob
from artifortress.blobs.s3 import S3BlobStore
from artifortress.blobs.scrub import ScrubReport, scrub
from artifortress.blobs.store import BlobStore, Expectation
from artifortress.cli.maintenance import EXIT_DAMAGED
from artifortress.container import Services
from artifortress.settings import Settings
from artifortress.testing.helpers import Api
from tests.functional.blob_helpers import digest_of, payload, start, upload

FILE = "/generic/files/tool/1.0/tool.bin"
DATA = payload(200_000, seed=16)


@pytest.fixture
def settings_overrides(blob_settings: dict[str, str]) -> dict[str, str]:
    return blob_settings


@pytest.fixture
def published(admin: Api, make_repo: Any) -> str:
    """A file published in a generic repository; its digest."""
    make_repo("files", format="generic")
    assert put_file(admin).status_code == 201
    return digest_of(DATA)


def put_file(api: Api, data: bytes = DATA) -> Any:
    return api.client.simulate_request("PUT", FILE, headers=api.headers(), body=data)


def lose(store: BlobStore, digest: str) -> None:
    """The object disappears from the store (an operator's mistake, a lost disk)."""
    store.delete(digest)


def corrupt(store: BlobStore, digest: str, data: bytes) -> None:
    """Flip one byte of the stored object in place."""
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x01
    if isinstance(store, LocalBlobStore):
        path = store.root / fan_out(digest)
        path.chmod(0o640)
        path.write_bytes(bytes(damaged))
    else:
        assert isinstance(store, S3BlobStore)
        key = store._blob_key(digest)
        store._client.put_object(Bucket=store.bucket, Key=key, Body=bytes(damaged))


def run_scrub(settings: Settings, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, Any]:
    """``artifortress scrub --json ARGS`` against the test's database and store."""
    for name in ("home", "database_url", "blob_url", "s3_endpoint_url"):
        monkeypatch.setenv(f"ARTIFORTRESS_{name.upper()}", str(getattr(settings, name)))
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    status = cli.main(["scrub", "--json", *args])
    return status, json.loads("\n".join(printed))


def scrub_now(services: Services, **kwargs: Any) -> ScrubReport:
    return scrub(services.sessions, services.blobs, grace_seconds=3600, **kwargs)


def test_a_clean_store_scrubs_clean(services, settings, published, monkeypatch):
    status, report = run_scrub(settings, monkeypatch=monkeypatch)
    assert status == 0
    assert report["healthy"]
    assert report["checked"] == 1
    assert (report["corrupt"], report["missing"], report["orphans"]) == ([], [], [])


def test_a_lost_object_is_reported_then_healed_by_a_generic_put(
    services, settings, admin, published, monkeypatch
):
    lose(services.blobs, published)
    status, report = run_scrub(settings, monkeypatch=monkeypatch)
    assert status == EXIT_DAMAGED
    assert report["missing"] == [published]
    assert admin.get(FILE).status_code == 404

    again = put_file(admin)
    assert again.status_code == 200, again.text  # an identical re-upload, as a retry
    fetched = admin.get(FILE)
    assert (fetched.status_code, fetched.content) == (200, DATA)
    assert run_scrub(settings, monkeypatch=monkeypatch)[0] == 0


def test_a_lost_object_is_healed_through_an_upload_session(services, admin, make_repo):
    make_repo("libs", format="generic")
    digest = upload(admin, "libs", DATA)
    lose(services.blobs, digest)
    # The dedupe shortcut used to answer 200 here without taking the bytes.
    created = start(admin, "libs", digest, len(DATA))
    assert created.status_code == 201, created.text
    upload(admin, "libs", DATA)
    assert services.blobs.size_of(digest) == len(DATA)
    fetched = admin.get(f"/v1/repos/libs/blobs/{digest}")
    assert (fetched.status_code, fetched.content) == (200, DATA)
    assert scrub_now(services).healthy


def test_a_flipped_byte_is_moved_aside_and_never_served(
    services, settings, admin, published, monkeypatch
):
    corrupt(services.blobs, published, DATA)
    status, report = run_scrub(settings, monkeypatch=monkeypatch)
    assert status == EXIT_DAMAGED
    [bad] = report["corrupt"]
    assert bad["digest"] == published
    assert bad["actual_digest"] != published
    assert bad["moved_to"]
    served = admin.get(FILE)
    assert served.status_code == 404
    assert served.content != DATA

    assert put_file(admin).status_code == 200
    fetched = admin.get(FILE)
    assert (fetched.status_code, fetched.content) == (200, DATA)
    assert run_scrub(settings, monkeypatch=monkeypatch)[0] == 0


def test_a_dry_run_reports_but_moves_nothing(services, settings, published, monkeypatch):
    corrupt(services.blobs, published, DATA)
    status, report = run_scrub(settings, "--dry-run", monkeypatch=monkeypatch)
    assert status == EXIT_DAMAGED
    assert report["corrupt"][0]["moved_to"] is None
    assert services.blobs.size_of(published) == len(DATA)  # still there, for inspection


def test_objects_without_a_row_are_kept_within_the_grace_period(services, published):
    orphan = payload(1000, seed=2)
    services.blobs.write(iter([orphan]), Expectation())
    report = scrub_now(services, remove_orphans=True)
    assert report.healthy  # an orphan serves nothing wrong
    assert [(o.digest, o.removed) for o in report.orphans] == [(digest_of(orphan), False)]
    assert services.blobs.size_of(digest_of(orphan)) == len(orphan)


def test_old_objects_without_a_row_are_removed_only_on_request(services, published):
    orphan = payload(1000, seed=3)
    services.blobs.write(iter([orphan]), Expectation())
    kept = scrub(services.sessions, services.blobs, grace_seconds=0)
    assert [o.removed for o in kept.orphans] == [False]
    removed = scrub(services.sessions, services.blobs, grace_seconds=0, remove_orphans=True)
    assert [o.removed for o in removed.orphans] == [True]
    assert services.blobs.size_of(digest_of(orphan)) is None
    assert services.blobs.size_of(published) == len(DATA)  # the live blob is untouched
    with services.sessions() as db:
        row = db.scalars(select(Blob).where(Blob.digest == digest_of(orphan))).one()
        assert row.collected_at is not None  # as GC leaves it: a re-upload stores it again
    assert scrub(services.sessions, services.blobs, grace_seconds=0).orphans == []


def test_an_upload_after_an_orphan_was_removed_stores_the_bytes_again(services, admin, make_repo):
    make_repo("libs", format="generic")
    orphan = payload(1000, seed=4)
    services.blobs.write(iter([orphan]), Expectation())
    scrub(services.sessions, services.blobs, grace_seconds=0, remove_orphans=True)
    digest = upload(admin, "libs", orphan)
    fetched = admin.get(f"/v1/repos/libs/blobs/{digest}")
    assert (fetched.status_code, fetched.content) == (200, orphan)


def test_scrub_needs_no_server_and_reports_for_people(services, settings, published, monkeypatch):
    lose(services.blobs, published)
    for name in ("home", "database_url", "blob_url", "s3_endpoint_url"):
        monkeypatch.setenv(f"ARTIFORTRESS_{name.upper()}", str(getattr(settings, name)))
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    assert cli.main(["scrub"]) == EXIT_DAMAGED
    assert printed[0].startswith(f"missing: {published}")
    assert "1 missing from the store" in printed[-1]


def test_an_upload_recorded_during_the_pass_is_no_orphan(services, admin, make_repo):
    make_repo("libs", format="generic")
    data = payload(1000, seed=5)
    services.blobs.write(iter([data]), Expectation())  # bytes written, row not yet recorded

    def record_meanwhile(objects: list[Any]) -> list[Any]:
        upload(admin, "libs", data)  # the upload's row lands after the listing
        return objects

    report = scrub(
        services.sessions,
        services.blobs,
        grace_seconds=0,
        remove_orphans=True,
        progress=record_meanwhile,
    )
    assert report.orphans == []
    fetched = admin.get(f"/v1/repos/libs/blobs/{digest_of(data)}")
    assert (fetched.status_code, fetched.content) == (200, data)
