"""When the server's event loop may hand a request to a thread (artifortress.serving.framing)."""

from __future__ import annotations

import pytest

from artifortress.serving.framing import Readiness, readiness

HEADER_LIMIT = 1024
BODY_LIMIT = 100


def state(data: bytes) -> Readiness:
    return readiness(data, HEADER_LIMIT, BODY_LIMIT)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r",
        b"\r\n\r\n",  # empty lines before a request line are not its end
        b"POST /v1/repos HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: 1\r\n",
    ],
)
def test_an_incomplete_request_waits_in_the_loop(data: bytes) -> None:
    assert state(data) is Readiness.NEED_MORE


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n",  # pipelined: the first is whole
        b"POST /v1/repos HTTP/1.1\r\ncontent-length: 5\r\n\r\n12345",
        b"POST /v1/repos HTTP/1.1\r\nContent-Length:  0 \r\n\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    ],
)
def test_a_whole_request_goes_to_a_thread(data: bytes) -> None:
    assert state(data) is Readiness.READY


@pytest.mark.parametrize(
    "data",
    [
        # Malformed framing is the parser's to refuse (400), not the loop's to wait on.
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nbad header line\r\nContent-Length: 5\r\n\r\n",
    ],
)
def test_malformed_framing_goes_to_the_parser(data: bytes) -> None:
    assert state(data) is Readiness.READY


def test_a_large_body_streams_through_a_thread() -> None:
    head = b"PUT /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n"
    assert state(head) is Readiness.STREAM
    assert state(head + b"x" * 101) is Readiness.READY  # already whole: nothing to stream


def test_a_large_chunked_body_streams_once_past_the_buffer() -> None:
    head = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert state(head + b"10\r\n" + b"x" * 16) is Readiness.NEED_MORE
    assert state(head + b"200\r\n" + b"x" * 50) is Readiness.STREAM


def test_a_client_waiting_for_100_continue_is_not_kept_waiting() -> None:
    data = b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"
    assert state(data) is Readiness.STREAM


def test_a_header_block_beyond_the_limit_is_refused() -> None:
    assert state(b"GET / HTTP/1.1\r\nX: " + b"a" * HEADER_LIMIT) is Readiness.HEADERS_TOO_LARGE
    whole = b"GET / HTTP/1.1\r\nX: " + b"a" * HEADER_LIMIT + b"\r\n\r\n"
    assert state(whole) is Readiness.HEADERS_TOO_LARGE
