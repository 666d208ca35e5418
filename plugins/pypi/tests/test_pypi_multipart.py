"""The streaming multipart/form-data parser: real client bodies, chunking, refusals, memory."""

from __future__ import annotations

import hashlib
import io
import random
import tracemalloc
from collections.abc import Iterator

import pytest
from artifortress_pypi.digests import DigestingWriter
from artifortress_pypi.errors import PayloadTooLarge, PypiError
from artifortress_pypi.multipart import Limits, MultipartResult, parse_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests_toolbelt import MultipartEncoder
from urllib3 import encode_multipart_formdata

BOUNDARY = "xYzZY"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class ChunkedStream:
    """A wsgi.input stand-in returning short reads of random sizes (as sockets do)."""

    def __init__(self, data: bytes, seed: int = 0, max_read: int = 7) -> None:
        self._data = io.BytesIO(data)
        self._random = random.Random(seed)
        self._max_read = max_read

    def read(self, size: int = -1, /) -> bytes:
        size = self._max_read if size < 0 else min(size, self._max_read)
        return self._data.read(self._random.randint(1, max(1, size)))


def body(parts: list[tuple[str, str]], file: bytes | None = b"FILE", *, name: str = "content",
         filename: str = "foo-1.0.tar.gz") -> bytes:  # fmt: skip
    """Build a CRLF multipart body by hand with BOUNDARY."""
    out = b""
    for key, value in parts:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    if file is not None:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + file + b"\r\n"  # fmt: skip
    return out + f"--{BOUNDARY}--\r\n".encode()


DEFAULT_LIMITS = Limits()


def parse(
    data: bytes,
    content_type: str = CONTENT_TYPE,
    *,
    stream: object = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[MultipartResult, bytes]:
    """Parse ``data`` into (result, file bytes)."""
    sink = io.BytesIO()
    source = stream if stream is not None else io.BytesIO(data)
    result = parse_form(source, content_type, sink, limits=limits)  # type: ignore[arg-type]
    return result, sink.getvalue()


def test_simple_body() -> None:
    result, file = parse(body([(":action", "file_upload"), ("name", "foo")]))
    assert result.fields == {":action": "file_upload", "name": "foo"}
    assert (result.filename, file, result.file_size) == ("foo-1.0.tar.gz", b"FILE", 4)
    assert result.file_content_type == "application/octet-stream"


def test_repeated_fields_become_lists() -> None:
    data = body([("classifiers", "A"), ("classifiers", "B"), ("classifiers", "C"), ("x", "1")])
    result, _ = parse(data)
    assert result.fields == {"classifiers": ["A", "B", "C"], "x": "1"}


def test_urllib3_body_every_chunk_size() -> None:
    payload = bytes(range(256)) * 40 + b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n\r\n--"
    data, content_type = encode_multipart_formdata(
        [("name", "Foo"), ("summary", "ünïcode ✓"), ("requires_dist", "a>=1"),
         ("requires_dist", "b; python_version<'3.12'"),
         ("content", ("Foo-1.0-py3-none-any.whl", payload, "application/octet-stream"))]
    )  # fmt: skip
    for chunk_size in (1, 2, 3, 5, 17, 64, 1000, 1 << 20):
        result, file = parse(data, content_type, limits=Limits(chunk_size=chunk_size))
        assert file == payload
        assert result.filename == "Foo-1.0-py3-none-any.whl"
        assert result.fields["summary"] == "ünïcode ✓"
        assert result.fields["requires_dist"] == ["a>=1", "b; python_version<'3.12'"]


def test_toolbelt_encoder_body_with_short_reads() -> None:
    """twine posts a requests_toolbelt MultipartEncoder; parse what it produces."""
    payload = random.Random(1).randbytes(300_000)
    encoder = MultipartEncoder(
        [("name", "foo"), ("version", "1.0"), ("keywords", "a, b"), (":action", "file_upload"),
         ("protocol_version", "1"), ("content", ("foo-1.0.tar.gz", io.BytesIO(payload),
                                                 "application/octet-stream"))]
    )  # fmt: skip
    data = encoder.to_string()
    for seed in range(5):
        stream = ChunkedStream(data, seed, max_read=9_000)
        result, file = parse(data, encoder.content_type, stream=stream)
        assert file == payload
        assert result.fields["keywords"] == "a, b"
        assert result.fields[":action"] == "file_upload"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.lists(
        st.tuples(st.sampled_from(["name", "version", "summary", "classifiers", "x"]),
                  st.text(max_size=40)),
        max_size=6,
    ),
    file=st.binary(max_size=3000),
    seed=st.integers(0, 10_000),
    max_read=st.integers(1, 200),
    chunk_size=st.integers(1, 512),
)  # fmt: skip
def test_any_chunking_roundtrips(
    fields: list[tuple[str, str]], file: bytes, seed: int, max_read: int, chunk_size: int
) -> None:
    """Whatever the content and however reads split it, the parse equals the encoded form."""
    file = file.replace(b"--" + BOUNDARY.encode(), b"")  # clients pick absent boundaries
    data = body([(k, v.replace("\r", "")) for k, v in fields], file)
    stream = ChunkedStream(data, seed, max_read)
    result, parsed_file = parse(data, stream=stream, limits=Limits(chunk_size=chunk_size))
    assert parsed_file == file
    expected: dict[str, str | list[str]] = {}
    for key, value in fields:
        value = value.replace("\r", "")
        previous = expected.get(key)
        if previous is None:
            expected[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            expected[key] = [previous, value]
    assert result.fields == expected


def test_file_with_boundary_like_content() -> None:
    # Delimiter prefixes and the boundary without its leading CRLF are content, not structure.
    tricky = (b"\r\n--" + BOUNDARY.encode()[:3] + b"\r\n--" + b"\r\n\r\nx--" +
              BOUNDARY.encode() + b"--\r")  # fmt: skip
    for chunk_size in range(1, 30):
        _, file = parse(body([], tricky), limits=Limits(chunk_size=chunk_size))
        assert file == tricky


def test_preamble_epilogue_and_transport_padding() -> None:
    data = (b"preamble text\r\n--" + BOUNDARY.encode() + b"  \t\r\n"
            b'Content-Disposition: form-data; name="content"; filename="f-1.0.zip"\r\n\r\n'
            b"abc\r\n--" + BOUNDARY.encode() + b"--\r\nepilogue ignored")  # fmt: skip
    result, file = parse(data)
    assert (result.filename, file) == ("f-1.0.zip", b"abc")


def test_empty_part_headers_refused_as_nameless() -> None:
    data = f"--{BOUNDARY}\r\n\r\nvalue\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(PypiError, match="lacks a Content-Disposition"):
        parse(data)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('form-data; name="content"; filename="a-1.0.tar.gz"', "a-1.0.tar.gz"),
        ("form-data; name=content; filename=a-1.0.tar.gz", "a-1.0.tar.gz"),
        ('form-data; name="content"; filename="a\\"b.tar.gz"', 'a"b.tar.gz'),
        ('form-data; name="content"; filename="a;b=c.tar.gz"', "a;b=c.tar.gz"),
        ("form-data; name=content; filename=\"x\"; filename*=UTF-8''na%C3%AFve-1.0.zip",
         "naïve-1.0.zip"),
        ("FORM-DATA; NAME=\"content\"; FILENAME*=utf-8'en'a-1.0.zip", "a-1.0.zip"),
        ('form-data; name="content"; filename="ü-1.0.zip"', "ü-1.0.zip"),
    ],
)  # fmt: skip
def test_filename_parameters(disposition: str, expected: str) -> None:
    data = (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\nX\r\n"
            f"--{BOUNDARY}--\r\n").encode()  # fmt: skip
    result, file = parse(data)
    assert (result.filename, file) == (expected, b"X")


@pytest.mark.parametrize(
    "content_type",
    [
        f'multipart/form-data; boundary="{BOUNDARY}"',
        f"Multipart/Form-Data;boundary={BOUNDARY};charset=utf-8",
        f"multipart/form-data; charset=utf-8; boundary={BOUNDARY}",
    ],
)
def test_boundary_spellings(content_type: str) -> None:
    assert parse(body([]), content_type)[1] == b"FILE"


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        (None, "must be multipart/form-data"),
        ("application/x-www-form-urlencoded", "must be multipart/form-data"),
        ("multipart/form-data", "has no boundary"),
        ('multipart/form-data; boundary=""', "has no boundary"),
        ("multipart/form-data; boundary=" + "b" * 300, "malformed"),
    ],
)
def test_bad_content_types(content_type: str | None, reason: str) -> None:
    with pytest.raises(PypiError, match=reason):
        parse(body([]), content_type)  # type: ignore[arg-type]


def test_every_truncation_is_refused() -> None:
    """Cutting the body anywhere (client disconnect) never yields a successful parse.

    Only the closing delimiter tells a complete body here (its final CRLF is optional); a
    body shorter than its Content-Length is the core's reader's to refuse.
    """
    data = body([("name", "foo"), ("version", "1.0")], b"0123456789")
    for cut in range(len(data) - 2):
        with pytest.raises(PypiError, match=r"truncated|does not have a file"):
            parse(data[:cut])
    assert parse(data[:-2])[1] == b"0123456789"


def test_chunked_body_without_length() -> None:
    data = body([("name", "foo")])
    result, file = parse(data, stream=ChunkedStream(data, max_read=3))
    assert (result.fields, file) == ({"name": "foo"}, b"FILE")


def test_fields_over_limit_is_413() -> None:
    data = body([("description", "d" * 3_000)])
    with pytest.raises(PayloadTooLarge, match="Form fields too large"):
        parse(data, limits=Limits(max_fields=2_048))


def test_too_many_parts() -> None:
    with pytest.raises(PayloadTooLarge, match="Too many form fields"):
        parse(body([("k", "v")] * 1_001))


def test_second_file_refused() -> None:
    data = body([], b"A")[: -len(f"--{BOUNDARY}--\r\n")] + body([], b"B")
    with pytest.raises(PypiError, match="more than one file"):
        parse(data)


def test_unexpected_file_field_refused() -> None:
    with pytest.raises(PypiError, match="unexpected file field 'other'"):
        parse(body([], b"A", name="other"))


def test_gpg_signature_file_is_a_small_field() -> None:
    sig = ("--" + BOUNDARY + '\r\nContent-Disposition: form-data; name="gpg_signature"; '
           'filename="foo-1.0.tar.gz.asc"\r\n\r\n-----BEGIN PGP-----\r\n')  # fmt: skip
    result, file = parse(sig.encode() + body([]))
    assert result.fields["gpg_signature"] == "-----BEGIN PGP-----"
    assert file == b"FILE"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (body([("name", "x")], None), "does not have a file"),
        (body([], b"x", filename=""), "does not have a file"),
        (f"--{BOUNDARY}\r\nbroken header\r\n\r\nx\r\n--{BOUNDARY}--".encode(), "bad part header"),
        (f"--{BOUNDARY}junk\r\n".encode(), "garbage after a boundary"),
        (f"--{BOUNDARY}\r\nX: " .encode() + b"h" * 20_000, "part headers too long"),
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="n"\r\n\r\n'.encode()
         + b"\xff\xfe\r\n" + f"--{BOUNDARY}--".encode(), "not valid UTF-8"),
        (b"no delimiter at all", "truncated"),
    ],
)  # fmt: skip
def test_malformed_bodies(data: bytes, reason: str) -> None:
    with pytest.raises(PypiError, match=reason):
        parse(data)


def test_callable_sink() -> None:
    chunks: list[bytes] = []
    data = body([], b"abc" * 1000)
    parse_form(io.BytesIO(data), CONTENT_TYPE, chunks.append, limits=Limits(chunk_size=100))
    assert b"".join(chunks) == b"abc" * 1000
    assert len(chunks) > 10


class LazyBody:
    """A body of ``size`` file bytes generated on the fly, so the test itself stays small."""

    def __init__(self, size: int) -> None:
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nfoo\r\n"
                f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; "
                f"filename=\"foo-1.0.tar.gz\"\r\n\r\n").encode()  # fmt: skip
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.length = len(head) + size + len(tail)
        self._pieces = self._generate(head, size, tail)
        self._pending = b""

    @staticmethod
    def _generate(head: bytes, size: int, tail: bytes) -> Iterator[bytes]:
        yield head
        block = random.Random(7).randbytes(1 << 20)
        while size > 0:
            yield block[: min(size, len(block))]
            size -= len(block)
        yield tail

    def read(self, size: int = -1, /) -> bytes:
        while len(self._pending) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._pending += piece
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def expected_sha256(size: int) -> str:
    block = random.Random(7).randbytes(1 << 20)
    digest = hashlib.sha256()
    while size > 0:
        digest.update(block[: min(size, len(block))])
        size -= len(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_200_mib_streams_in_bounded_memory() -> None:
    """A 200 MiB upload passes through with a tracemalloc peak far below its size."""
    size = 200 * 1024 * 1024
    stream = LazyBody(size)
    writer = DigestingWriter()
    tracemalloc.start()
    try:
        result = parse_form(stream, CONTENT_TYPE, writer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MiB"
    assert (result.file_size, result.fields) == (size, {"name": "foo"})
    assert writer.digests().size == size
    assert writer.digests().sha256 == expected_sha256(size)
    print(f"200 MiB upload: tracemalloc peak {peak / 1024 / 1024:.2f} MiB")
