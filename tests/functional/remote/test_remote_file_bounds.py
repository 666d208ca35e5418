"""What ends an upstream file's fetch: a size over the blob limit, an upstream dripping bytes."""

from __future__ import annotations

import time

import pytest

from artifortress.remote import bounds

LIMIT = 64 * 1024
BIG = b"x" * (LIMIT + 1)
FILE = "/files/big-1.0.tgz"
URL = "/upstreamtest/up/file/big/1.0/big-1.0.tgz"
STREAM_URL = "/upstreamtest/up/stream/big/1.0/big-1.0.tgz"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {
        "upstream_connect_timeout": "1",
        "upstream_read_timeout": "1",
        "upstream_retries": "0",
        "max_blob_size": str(LIMIT),
        "upstream_min_rate": "1000",
    }


def refused_too_large(answer) -> None:
    assert answer.status_code == 502
    error = answer.json["error"]
    assert error["code"] == "upstream_too_large"
    assert "the upstream's file is larger than the limit" in error["message"]


@pytest.mark.parametrize("path", [URL, STREAM_URL])
def test_a_file_announced_larger_than_the_limit_is_refused_before_it_is_read(
    admin, make_remote, upstream, path
):
    make_remote("up")
    upstream.serve(FILE, BIG)
    refused_too_large(admin.get(path))
    assert admin.get("/v1/repos/up/packages/big").status_code == 404


def test_a_body_growing_past_the_limit_is_cut_and_nothing_is_stored(admin, make_remote, upstream):
    make_remote("up")
    upstream.serve(FILE, BIG * 4, unannounced=True)  # no Content-Length: only reading tells
    refused_too_large(admin.get(URL))
    assert admin.get("/v1/repos/up/packages/big").status_code == 404
    upstream.serve(FILE, BIG[:LIMIT])  # at the limit: fine
    assert admin.get(URL).content == BIG[:LIMIT]


def test_an_upstream_dripping_bytes_fails_the_fetch(admin, make_remote, upstream, monkeypatch):
    """Each byte comes well within the read timeout, but far below the minimum rate."""
    monkeypatch.setattr(bounds, "RATE_WINDOW", 0.5)
    make_remote("up")
    upstream.serve(FILE, b"y" * 200, drip=0.05)  # 20 bytes/s: 10 s for the whole body
    started = time.monotonic()
    answer = admin.get(URL)
    assert time.monotonic() - started < 3
    assert answer.status_code == 502
    assert "slower than the 1000 bytes/s" in answer.json["error"]["message"]
    assert admin.get("/v1/repos/up/packages/big").status_code == 404
