"""When the server's event loop may hand a request to a thread (artifortress.serving.framing)."""

from __future__ import annotations

import time

import pytest

from artifortress.serving.framing import Readiness, RequestFraming, readiness

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


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # gunicorn reads a length or chunk size with any number of leading zeros: so
        # does the loop, or a request it takes for malformed would hold a thread.
        (
            b"POST / HTTP/1.1\r\nContent-Length: " + b"0" * 30 + b"10\r\n\r\nabc",
            Readiness.NEED_MORE,
        ),
        (b"POST / HTTP/1.1\r\nContent-Length: " + b"0" * 30 + b"3\r\n\r\nabc", Readiness.READY),
        (b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\nabc", Readiness.STREAM),
        (
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * 20 + b"5\r\nhe",
            Readiness.NEED_MORE,
        ),
        (
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 20 + b"\r\nhe",
            Readiness.STREAM,
        ),
    ],
)
def test_a_length_is_read_for_its_value_whatever_its_leading_zeros(
    data: bytes, expected: Readiness
) -> None:
    assert state(data) is expected


SAMPLES = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\r\nGET / HTTP/1.1\nHost: x\n\n",
    b"POST /v1/repos HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello world!",
    b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"9\r\n123456789\r\n" * 12,
    b"PUT /x HTTP/1.1\r\nContent-Length: 300\r\n\r\n" + b"x" * 150,
    b"GET / HTTP/1.1\r\nX: " + b"a" * HEADER_LIMIT + b"\r\n\r\n",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_a_request_read_piece_by_piece_is_judged_as_if_read_at_once(data: bytes) -> None:
    """The loop asks after every read: the framing it remembers gives the same answers."""
    for piece in (1, 3, 7):
        framing = RequestFraming(HEADER_LIMIT, BODY_LIMIT)
        for end in range(piece, len(data) + piece, piece):
            answer = framing.readiness(data[:end])
            assert answer is state(data[:end]), (piece, end)
            if answer is not Readiness.NEED_MORE:
                break


def test_each_new_byte_costs_the_loop_little_whatever_came_before() -> None:
    """A client sending one byte at a time must not make the loop re-read all it sent.

    Before, every read parsed the whole header block again (40 ms for one of
    60 KB with 12,000 tiny fields, 50 ms for a body of 10,000 one-byte chunks),
    so a few connections sending a byte each now and then kept the worker's
    event loop, which accepts and dispatches everyone's requests, busy.
    """
    many_fields = b"PUT /x HTTP/1.1\r\n" + b"a:b\r\n" * 12_000 + b"Content-Length: 65000\r\n\r\n"
    tiny_chunks = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 10_000
    for start, step in ((many_fields, b"x"), (tiny_chunks, b"1\r\nx\r\n")):
        framing = RequestFraming(64 * 1024, 64 * 1024)
        data = bytearray(start)
        started = time.perf_counter()
        for _ in range(500):
            data += step
            assert framing.readiness(data) is Readiness.NEED_MORE
        assert time.perf_counter() - started < 1.0  # 5 to 20 s before


def test_a_tls_handshake_is_told_at_once_that_this_is_plain_http() -> None:
    client_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32
    assert state(client_hello) is Readiness.TLS_HANDSHAKE
    assert state(b"\x16") is Readiness.TLS_HANDSHAKE
    assert state(b"GET / HTTP/1.1\r\nX: \x16\r\n\r\n") is Readiness.READY
