"""RequestBody, the one reader of request bodies: bounds, short bodies, and read() beside iteration.

The bounds the PyPI parser used to enforce itself (a declared or streamed size over the
limit, never reading past ``Content-Length``) are the core's since plugins read through it.
"""

from __future__ import annotations

import io

import falcon
import falcon.testing
import pytest

from artifortress.blobs.request_body import RequestBody, read_body
from artifortress.blobs.store import CHUNK_SIZE, IncompleteBody
from artifortress.errors import PayloadTooLarge


def request(stream: io.BytesIO, length: int | None) -> falcon.Request:
    headers = {"Content-Length": str(length)} if length is not None else {}
    env = falcon.testing.create_environ(method="PUT", headers=headers)
    env["wsgi.input"] = stream
    return falcon.Request(env)


def test_declared_length_over_the_limit_is_413_before_reading() -> None:
    stream = io.BytesIO(b"never read")
    with pytest.raises(PayloadTooLarge, match="is 2000 bytes; the limit is 1000") as caught:
        RequestBody(request(stream, 2_000), 1_000)
    assert caught.value.status == 413
    assert stream.tell() == 0


def test_a_body_without_length_over_the_limit_is_413_while_it_streams() -> None:
    body = RequestBody(request(io.BytesIO(b"x" * 5_000), None), 4_000)
    with pytest.raises(PayloadTooLarge, match="exceeds the limit of 4000 bytes"):
        body.read()


def test_never_reads_past_content_length() -> None:
    stream = io.BytesIO(b"BODY" + b"NEXT REQUEST")
    assert read_body(request(stream, 4), 100) == b"BODY"
    assert stream.read() == b"NEXT REQUEST"


def test_a_body_ending_before_its_length_is_a_400() -> None:
    body = RequestBody(request(io.BytesIO(b"0123"), 10), 100)
    assert body.read(100) == b"0123"
    with pytest.raises(IncompleteBody, match="after 4 of 10 bytes") as caught:
        body.read(100)
    assert caught.value.status == 400


def test_read_and_iteration_share_one_position() -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 256 + 1)
    body = RequestBody(request(io.BytesIO(data), len(data)), len(data))
    head = body.read(10)
    rest = b"".join(body)
    assert head + rest == data
    assert body.read(10) == b""


def test_small_reads_cut_the_chunks_without_losing_bytes() -> None:
    data = b"abcdefghij" * 1000
    body = RequestBody(request(io.BytesIO(data), len(data)), len(data))
    assert b"".join(iter(lambda: body.read(7), b"")) == data
