"""``GET|HEAD /v1/repos/{repo}/blobs/sha256:HEX`` on both stores: whole bodies, single ranges,
416, conditional requests, and access only through a repository that holds the blob."""

from __future__ import annotations

import dataclasses
import urllib.request
from typing import Any

import pytest

from artifortress.blobs.files import FileRange
from tests.functional.blob_helpers import digest_of, payload, upload
from tests.functional.control_plane.helpers import assert_error
from tests.support.faulty_blobs import FaultyBlobStore

LOCAL_ONLY = pytest.mark.parametrize("blob_settings", ["local"], indirect=True)
S3_ONLY = pytest.mark.parametrize("blob_settings", ["s3"], indirect=True)
SIZE = 100_000


@pytest.fixture
def settings_overrides(blob_settings: dict[str, str]) -> dict[str, str]:
    return blob_settings


@pytest.fixture
def blob(admin, make_repo) -> tuple[str, bytes]:
    """A blob of SIZE bytes held by the private repository ``libs``."""
    make_repo("libs")
    data = payload(SIZE, 1)
    return upload(admin, "libs", data), data


def get(api, digest: str, repo: str = "libs", **headers: str) -> Any:
    return api.get(f"/v1/repos/{repo}/blobs/{digest}", headers=headers)


def test_whole_blob_and_head(admin, blob):
    digest, data = blob
    whole = get(admin, digest)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["etag"] == f'"{digest}"'
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["x-checksum-sha256"] == digest[7:]
    assert whole.headers["content-type"] == "application/octet-stream"
    assert "last-modified" in whole.headers

    head = admin.request("HEAD", f"/v1/repos/libs/blobs/{digest}")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "etag", "accept-ranges", "x-checksum-sha256"):
        assert head.headers[name] == whole.headers[name]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, SIZE - 1),
        ("bytes=-5", SIZE - 5, SIZE - 1),
        ("bytes=99990-200000", 99990, SIZE - 1),
        ("bytes=-200000", 0, SIZE - 1),
        ("BYTES= 5 - 6", 5, 6),
    ],
)
def test_single_ranges_are_206(admin, blob, header, start, end):
    digest, data = blob
    part = get(admin, digest, Range=header)
    assert part.status_code == 206, part.text
    assert part.content == data[start : end + 1]
    assert part.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert part.headers["content-length"] == str(end - start + 1)


@LOCAL_ONLY
@pytest.mark.parametrize("header", ["bytes=100000-", "bytes=200000-300000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(admin, blob, header):
    digest, _ = blob
    refused = get(admin, digest, Range=header)
    assert_error(refused, 416)
    assert refused.headers["content-range"] == f"bytes */{SIZE}"


@LOCAL_ONLY
@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "bytes=9-3", "items=0-1", "bytes=", "bytes=a-b", "bytes=-"]
)
def test_several_or_malformed_ranges_get_the_whole_body(admin, blob, header):
    digest, data = blob
    whole = get(admin, digest, Range=header)
    assert whole.status_code == 200
    assert whole.content == data


@LOCAL_ONLY
def test_conditional_requests(admin, blob):
    digest, data = blob
    etag = f'"{digest}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = get(admin, digest, **{"If-None-Match": header})
        assert unchanged.status_code == 304, header
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    assert get(admin, digest, **{"If-None-Match": '"other"'}).status_code == 200

    ranged = {"Range": "bytes=0-3"}
    assert get(admin, digest, **ranged, **{"If-Range": etag}).status_code == 206
    stale = get(admin, digest, **ranged, **{"If-Range": '"sha256:stale"'})
    assert (stale.status_code, stale.content) == (200, data)
    weak = get(admin, digest, **ranged, **{"If-Range": f"W/{etag}"})
    assert weak.status_code == 200  # If-Range needs a strong match
    modified = get(admin, digest)
    same_date = get(admin, digest, **ranged, **{"If-Range": modified.headers["last-modified"]})
    assert same_date.status_code == 206
    old_date = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert get(admin, digest, **ranged, **{"If-Range": old_date}).status_code == 200


@LOCAL_ONLY
def test_only_holding_repositories_serve_a_blob(admin, api_factory, blob, make_repo):
    digest, data = blob
    make_repo("other")
    make_repo("open", public=True)
    reader = api_factory.as_user("reader")
    for repo in ("libs", "other"):
        assert (
            admin.put(f"/v1/repos/{repo}/bindings/reader", {"roles": ["read"]}).status_code == 200
        )
    assert get(reader, digest).content == data
    assert_error(get(reader, digest, repo="other"), 404)  # it can read both, but other lacks it
    assert_error(get(api_factory.anonymous(), digest), 401)
    assert_error(get(api_factory.as_user("nobody"), digest), 403)
    assert_error(get(admin, digest_of(b"never uploaded")), 404)
    assert_error(get(admin, "sha256:short"), 400)

    upload(admin, "open", data)
    assert get(api_factory.anonymous(), digest, repo="open").content == data


@LOCAL_ONLY
def test_empty_blob(admin, make_repo):
    make_repo("libs")
    digest = upload(admin, "libs", b"")
    empty = get(admin, digest)
    assert empty.status_code == 200
    assert empty.content == b""
    assert empty.headers["content-length"] == "0"
    refused = get(admin, digest, Range="bytes=0-")
    assert_error(refused, 416)
    assert refused.headers["content-range"] == "bytes */0"


@LOCAL_ONLY
def test_local_blobs_go_to_the_servers_file_wrapper(admin, blob):
    """gunicorn's wsgi.file_wrapper sends a real file descriptor with sendfile(2)."""
    digest, data = blob
    descriptors = []

    class Wrapper:
        def __init__(self, filelike: Any, block_size: int) -> None:
            descriptors.append((type(filelike), filelike.fileno()))
            self._file = filelike
            self._block = block_size

        def __iter__(self) -> Any:
            return iter(lambda: self._file.read(self._block), b"")

        def close(self) -> None:
            self._file.close()

    result = admin.client.simulate_get(
        f"/v1/repos/libs/blobs/{digest}",
        headers=admin.headers({"Range": "bytes=10-19"}),
        file_wrapper=Wrapper,
    )
    assert result.content == data[10:20]  # the window only, whatever the block size
    ((kind, fd),) = descriptors
    assert kind is FileRange
    assert fd >= 0


@LOCAL_ONLY
def test_an_unreachable_store_is_503_before_any_byte(admin, blob, services):
    digest, _ = blob
    services.blobs = FaultyBlobStore(services.blobs)
    services.blobs.fail("open")
    refused = get(admin, digest)
    assert_error(refused, 503)
    assert refused.json["error"]["code"] == "blob_store_unavailable"


@S3_ONLY
def test_presigned_redirects_when_configured(admin, blob, services):
    digest, data = blob
    assert get(admin, digest).content == data  # streamed through the API by default
    services.settings = dataclasses.replace(services.settings, s3_presign_downloads=True)
    moved = get(admin, digest)
    assert moved.status_code == 307
    location = moved.headers["location"]
    assert location.startswith(services.settings.s3_endpoint_url)
    assert "X-Amz-Expires=300" in location
    with urllib.request.urlopen(location, timeout=10) as answer:
        assert answer.read() == data
    assert admin.request("HEAD", f"/v1/repos/libs/blobs/{digest}").status_code == 200
