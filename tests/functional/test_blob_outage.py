"""The S3 endpoint stops mid-run and comes back: explicit 503s naming the blob store, working
metadata APIs, nothing half-committed, and recovery without a restart of the app."""

from __future__ import annotations

import time
from collections.abc import Iterator

import falcon.testing
import pytest

from tests.functional.blob_helpers import (
    PART,
    blob_rows,
    complete,
    digest_of,
    payload,
    put_part,
    start,
    start_session,
    upload,
)
from tests.functional.control_plane.helpers import assert_error
from tests.support.s3 import MotoS3, start_moto, use_test_credentials

#: No request may hang while S3 is away (connect timeout and retries are bounded).
MAX_SECONDS = 10.0


@pytest.fixture
def own_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3]:
    """A moto server of this test alone, so stopping it disturbs no other test."""
    use_test_credentials(monkeypatch)
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def settings_overrides(own_s3: MotoS3) -> dict[str, str]:
    bucket = own_s3.create_bucket()
    return {"blob_url": f"s3://{bucket}/outage", "s3_endpoint_url": own_s3.endpoint_url}


def assert_blob_store_down(name: str, result: falcon.testing.Result, started: float) -> None:
    assert result.status_code == 503, f"{name}: {result.status} {result.text}"
    assert_error(result, 503)
    error = result.json["error"]
    assert error["code"] == "blob_store_unavailable", result.text
    assert "blob store (s3)" in error["message"]
    assert error["details"]["service"] == "blob_store"
    assert "botocore" not in result.text
    assert int(result.headers["retry-after"]) > 0
    assert time.monotonic() - started < MAX_SECONDS, result.text


def test_s3_outage_mid_run(admin, make_repo, services, client, own_s3):
    make_repo("libs")
    stored = payload(1000, 1)
    stored_digest = upload(admin, "libs", stored)
    pending = payload(PART + 10, 2)
    upload_id = start_session(admin, "libs", pending)
    assert put_part(admin, "libs", upload_id, 1, pending[:PART]).status_code == 200

    own_s3.stop()

    attempts = {
        "download": lambda: admin.get(f"/v1/repos/libs/blobs/{stored_digest}"),
        "part": lambda: put_part(admin, "libs", upload_id, 2, pending[PART:]),
        "complete": lambda: complete(admin, "libs", upload_id),
        "status": lambda: admin.get(f"/v1/repos/libs/uploads/{upload_id}"),
        "abort": lambda: admin.delete(f"/v1/repos/libs/uploads/{upload_id}"),
        "create": lambda: start(admin, "libs", digest_of(b"new"), 3),
    }
    for name, attempt in attempts.items():
        started = time.monotonic()
        result = attempt()
        assert_blob_store_down(name, result, started)

    # Metadata keeps answering, from the database alone.
    assert admin.get("/v1/repos/libs").status_code == 200
    assert admin.get("/v1/audit").status_code == 200
    head = admin.request("HEAD", f"/v1/repos/libs/blobs/{stored_digest}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(stored))
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["blob_store"] != "ok"
    # Nothing was half-committed.
    assert blob_rows(services) == [(stored_digest, len(stored))]

    own_s3.start()

    assert client.simulate_get("/readyz").status_code == 200
    status = admin.get(f"/v1/repos/libs/uploads/{upload_id}")
    assert status.json["state"] == "open"
    assert status.json["parts"] == [{"number": 1, "size": PART}]
    assert put_part(admin, "libs", upload_id, 2, pending[PART:]).status_code == 200
    assert complete(admin, "libs", upload_id).status_code == 200
    assert admin.get(f"/v1/repos/libs/blobs/{digest_of(pending)}").content == pending
    assert admin.get(f"/v1/repos/libs/blobs/{stored_digest}").content == stored
