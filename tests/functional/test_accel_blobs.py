"""Blob downloads handed to a front proxy (``ARTIFORTRESS_ACCEL_REDIRECT``): whole GETs only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from artifortress.blobs.digests import fan_out
from tests.functional.blob_helpers import payload, upload

SIZE = 50_000


@pytest.fixture
def settings_overrides(blob_settings: dict[str, str]) -> dict[str, str]:
    return {**blob_settings, "accel_redirect": "/_accel/"}


@pytest.fixture
def blob(admin, make_repo) -> tuple[str, bytes]:
    make_repo("libs")
    data = payload(SIZE, 7)
    return upload(admin, "libs", data), data


def url(digest: str) -> str:
    return f"/v1/repos/libs/blobs/{digest}"


@pytest.mark.parametrize("blob_settings", ["local"], indirect=True)
def test_whole_get_names_the_stored_file_and_sends_no_body(admin, blob, blob_settings):
    digest, data = blob
    answer = admin.get(url(digest))
    assert answer.status_code == 200
    handoff = answer.headers["X-Accel-Redirect"]
    assert handoff == f"/_accel/blobs/{fan_out(digest)}"
    assert answer.content == b""
    root = Path(blob_settings["blob_url"].removeprefix("file://"))
    stored = root / handoff.removeprefix("/_accel/blobs/")
    assert stored.read_bytes() == data
    assert answer.headers["ETag"] == f'"{digest}"'
    assert answer.headers["X-Checksum-Sha256"] == digest.split(":")[1]


@pytest.mark.parametrize("blob_settings", ["local"], indirect=True)
def test_ranges_head_and_revalidation_stay_with_artifortress(admin, blob):
    digest, data = blob
    ranged = admin.get(url(digest), headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == data[10:20]
    head = admin.request("HEAD", url(digest))
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(SIZE)
    current = admin.get(url(digest), headers={"If-None-Match": f'"{digest}"'})
    assert current.status_code == 304
    for answer in (ranged, head, current):
        assert "X-Accel-Redirect" not in answer.headers


@pytest.mark.parametrize("blob_settings", ["s3"], indirect=True)
def test_s3_blobs_are_not_files_so_they_are_sent_directly(admin, blob):
    digest, data = blob
    answer = admin.get(url(digest))
    assert answer.status_code == 200
    assert answer.content == data
    assert "X-Accel-Redirect" not in answer.headers


@pytest.mark.parametrize("blob_settings", ["local"], indirect=True)
def test_refusals_are_not_handed_off(anonymous, blob):
    digest, _data = blob
    answer = anonymous.get(url(digest))
    assert answer.status_code == 401
    assert "X-Accel-Redirect" not in answer.headers


@pytest.mark.parametrize("blob_settings", ["local"], indirect=True)
def test_a_blob_from_an_upload_session_is_group_readable(admin, blob, blob_settings):
    """One-part sessions adopt the part by hard link: it must not stay 0600 as mkstemp made it."""
    digest, _data = blob
    root = Path(blob_settings["blob_url"].removeprefix("file://"))
    assert stat.S_IMODE((root / fan_out(digest)).stat().st_mode) == 0o440
