"""The streaming publish-body parser, on real npm bodies, odd encodings, bad input and 150 MB."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from artifortress_npm.errors import NpmError
from artifortress_npm.publish_body import PublishBody, parse_publish_body
from npm_testkit import Published

MiB = 1024 * 1024


class Trickle:
    """A stream that returns at most ``step`` bytes per read (random sizes when step=0)."""

    def __init__(self, data: bytes, step: int = 0, seed: int = 0) -> None:
        self._data = data
        self._pos = 0
        self._step = step
        self._random = random.Random(seed)

    def read(self, size: int) -> bytes:
        limit = self._step or self._random.randint(1, max(1, size))
        piece = self._data[self._pos : self._pos + min(size, limit)]
        self._pos += len(piece)
        return piece


class Sinks:
    """Collects what the parser writes per attachment."""

    def __init__(self) -> None:
        self.files: dict[str, io.BytesIO] = {}

    def __call__(self, name: str) -> io.BytesIO:
        self.files[name] = io.BytesIO()
        return self.files[name]


def parse(data: bytes, *, step: int = 0, chunk: int = 64 * 1024, **kwargs: Any) -> PublishBody:
    options: dict[str, Any] = {"content_length": len(data), "max_body_size": 10 * MiB}
    options.update(kwargs)
    return parse_publish_body(Trickle(data, step), Sinks(), chunk_size=chunk, **options)


def expected_view(body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What the parser should return, computed with json.loads and b64decode."""
    document = json.loads(body)
    files: dict[str, bytes] = {}
    for name, attachment in document.get("_attachments", {}).items():
        if name.endswith(".sigstore"):
            files[name] = attachment["data"].encode()
        else:
            files[name] = base64.b64decode(attachment["data"], validate=True)
        attachment["data"] = len(files[name])
    return document, files


@pytest.mark.parametrize("package", ["@acme/hello", "plain-pkg"])
@pytest.mark.parametrize(("step", "chunk"), [(0, 64 * 1024), (7, 64 * 1024), (0, 13), (1, 5)])
def test_real_npm_publish_bodies_in_any_chunking(
    published: dict[str, Published], package: str, step: int, chunk: int
) -> None:
    body_view = published[package].body
    if step == 1 and len(body_view) > 50_000:
        step = 3  # byte by byte only on the small body, to stay fast
    sinks = Sinks()
    result = parse_publish_body(
        Trickle(body_view, step, seed=chunk),
        sinks,
        content_length=len(body_view),
        max_body_size=10 * MiB,
        chunk_size=chunk,
    )
    document, files = expected_view(body_view)
    assert result.document == document
    assert {name: f.getvalue() for name, f in sinks.files.items()} == files
    assert result.body_size == len(body_view)
    version = document["versions"][published[package].version]
    attachment = result.attachments[f"{package}-{published[package].version}.tgz"]
    assert attachment.sha1 == version["dist"]["shasum"]
    assert attachment.integrity == version["dist"]["integrity"]
    assert attachment.size == attachment.declared_length
    assert attachment.content_type == "application/octet-stream"


def test_real_body_without_content_length(published: dict[str, Published]) -> None:
    body = published["plain-pkg"].body
    result = parse(body, content_length=None)
    assert result.document == expected_view(body)[0]


def body_with(data: str, *, name: str = "p-1.0.0.tgz", length: int | None = None) -> bytes:
    """A publish body whose attachment data is the raw JSON string text ``data``."""
    tail = "" if length is None else f',"length":{length}'
    return (
        '{"_id":"p","name":"p","versions":{"1.0.0":{"name":"p","version":"1.0.0"}},'
        f'"_attachments":{{"{name}":{{"content_type":"x","data":"{data}"{tail}}}}}}}'
    ).encode()


def escaped_variants(encoded: str) -> Iterator[str]:
    yield encoded
    yield encoded.replace("/", "\\/")  # PHP-style escaped slashes
    yield "\\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))  # MIME lines
    yield "\\r\\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    yield encoded.replace("A", "\\u0041").replace("+", "\\u002B")


@pytest.mark.parametrize("variant", range(5))
def test_escapes_in_base64_at_every_chunk_boundary(variant: int) -> None:
    raw = bytes(range(256)) * 3 + os.urandom(97)
    encoded = list(escaped_variants(base64.b64encode(raw).decode()))[variant]
    body = body_with(encoded)
    for chunk in range(1, 17):
        sinks = Sinks()
        parse_publish_body(
            Trickle(body, step=chunk),
            sinks,
            content_length=None,
            max_body_size=MiB,
            chunk_size=chunk,
        )
        assert sinks.files["p-1.0.0.tgz"].getvalue() == raw, chunk


def test_provenance_attachment_is_plain_text_with_utf16_length() -> None:
    bundle = json.dumps(
        {"mediaType": "application/vnd.dev.sigstore.bundle+json", "x": "\u00e9 \U0001f600"}
    )
    quoted = json.dumps(bundle)[1:-1]  # as a JSON string value, with \" and \ud83d\ude00 escapes
    body = body_with(quoted, name="p-1.0.0.sigstore", length=len(bundle.encode("utf-16-le")) // 2)
    for chunk in (1, 2, 5, 1024):
        sinks = Sinks()
        result = parse_publish_body(
            Trickle(body, 3), sinks, content_length=len(body), max_body_size=MiB, chunk_size=chunk
        )
        assert sinks.files["p-1.0.0.sigstore"].getvalue() == bundle.encode()
        assert result.attachments["p-1.0.0.sigstore"].size == len(bundle.encode())


def test_strings_outside_attachments_decode_escapes_and_unicode() -> None:
    doc = {"name": "p", "readme": 'caf\u00e9 \U0001f600 "q" \\ \n\t/', "n": [1, -2.5e3, True, None]}
    for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False)):
        for chunk in (1, 3, 1000):
            assert parse(text.encode(), chunk=chunk, step=2).document == doc


BAD_BODIES = {
    b'{"a":1,}': "expected a string key",
    b'{"a" 1}': "expected ':'",
    b'{"a":tru}': "invalid value",
    b'{"a":01}': "invalid value",
    b'{"a":1e999}': "out of range",
    b'{"a":NaN}': "unexpected character",
    b'{"a":[1 2]}': "expected ',' or ']'",
    b'{"a":1} x': "unexpected data after",
    b'{"a":1}{}': "unexpected data after",
    b"[1]": "must be a JSON object",
    b'{"a":"x\ny"}': "control character",
    b'{"a":"\\x"}': "bad escape",
    b'{"a":"\\ud800"}': "bad escape",
    b'{"a\xff":1}': "invalid UTF-8",
    b'{"a":1,"a":2}': "duplicate key",
    b"[" * 70 + b"]" * 70: "nesting deeper",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QU*D"}}}': "invalid base64",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QUJ"}}}': "multiple of 4",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QQ==QUJD"}}}': "data after padding",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QQ=="}}} ': "",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QUJD","length":4}}}': "length says 4",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QUJD","length":"3"}}}': "must be an integer",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":5}}}': "has no data string",
    b'{"_attachments":{"p-1.0.0.tgz":{"length":0}}}': "has no data string",
    b'{"_attachments":[{"data":"QUJD"}]}': "must be an object",
    b'{"_attachments":{"evil.exe":{"data":"QUJD"}}}': "unexpected attachment",
    b'{"_attachments":{"a.tgz":{"data":""},"b.tgz":{"data":""},"c.tgz":{"data":""}}}': "too many",
    b'{"_attachments":{"p-1.0.0.sigstore":{"data":"\\ud83d"}}}': "low surrogate",
    b'{"_attachments":{"p-1.0.0.sigstore":{"data":"\\udc00"}}}': "lone low surrogate",
    b'{"_attachments":{"p-1.0.0.sigstore":{"data":"\xe9"}}}': "invalid UTF-8",
    b'{"_attachments":{"p-1.0.0.tgz":{"data":"QUJD': "truncated",
    b'{"name":"p"': "truncated",
    b"": "truncated",
}


@pytest.mark.parametrize(("body", "message"), BAD_BODIES.items())
def test_bad_bodies_are_refused_with_a_clear_400(body: bytes, message: str) -> None:
    if not message:
        assert parse(body).attachments["p-1.0.0.tgz"].size == 1  # the control case parses
        return
    for chunk in (1, 4096):
        with pytest.raises(NpmError) as info:
            parse(body, chunk=chunk, content_length=None)
        assert info.value.status == 400
        assert message in info.value.message


def test_declared_length_longer_than_the_body_is_truncation() -> None:
    body = body_with("QUJD")
    with pytest.raises(NpmError, match="truncated") as info:
        parse(body, content_length=len(body) + 10)
    assert info.value.status == 400


def test_oversized_content_length_is_refused_before_reading() -> None:
    class Untouchable:
        def read(self, size: int) -> bytes:
            raise AssertionError("the body must not be read")

    with pytest.raises(NpmError) as info:
        parse_publish_body(Untouchable(), Sinks(), content_length=11, max_body_size=10)
    assert info.value.status == 413


def test_oversized_chunked_body_is_refused_while_reading() -> None:
    body = body_with(base64.b64encode(b"x" * 3000).decode())
    with pytest.raises(NpmError) as info:
        parse(body, content_length=None, max_body_size=1000, chunk=256)
    assert info.value.status == 413
    assert "1000 bytes" in info.value.message


def test_oversized_document_part_is_refused() -> None:
    body = json.dumps({"name": "p", "readme": "r" * 300_000}).encode()
    with pytest.raises(NpmError) as info:
        parse(body, max_document_size=100_000, chunk=4096)
    assert info.value.status == 413
    assert parse(body, max_document_size=400_000).document["readme"] == "r" * 300_000


def test_sink_is_not_opened_for_a_refused_attachment_name() -> None:
    sinks = Sinks()
    body = b'{"_attachments":{"../../etc/passwd":{"data":"QUJD"}}}'
    with pytest.raises(NpmError, match="unexpected attachment"):
        parse_publish_body(Trickle(body), sinks, content_length=len(body), max_body_size=MiB)
    assert sinks.files == {}


class GeneratedBody:
    """Streams a publish body with ``size`` bytes of tarball data, never holding it whole."""

    def __init__(self, size: int) -> None:
        self.block = os.urandom(3 * 256 * 1024)
        self.size = size - size % len(self.block)
        self.sha256 = hashlib.sha256()
        self._parts = self._generate()
        self._pending = b""

    def _generate(self) -> Iterator[bytes]:
        yield b'{"_id":"big","name":"big","versions":{"1.0.0":{"name":"big","version":"1.0.0"}},'
        yield b'"_attachments":{"big-1.0.0.tgz":{"content_type":"application/octet-stream","data":"'
        for index in range(self.size // len(self.block)):
            block = index.to_bytes(3, "big") + self.block[3:]  # no two blocks alike
            self.sha256.update(block)
            yield base64.b64encode(block)
        yield f'","length":{self.size}}}}}}}'.encode()

    def read(self, size: int) -> bytes:
        while len(self._pending) < size:
            part = next(self._parts, None)
            if part is None:
                break
            self._pending += part
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece


class HashingSink:
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return len(data)


def test_150_mb_body_parses_in_bounded_memory() -> None:
    generated = GeneratedBody(112 * MiB)  # base64 makes the body about 150 MB
    sink = HashingSink()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = parse_publish_body(
            generated, lambda name: sink, content_length=None, max_body_size=200 * MiB
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert result.body_size > 149 * MiB
    assert result.attachments["big-1.0.0.tgz"].size == generated.size
    assert sink.sha256.digest() == generated.sha256.digest()
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"
    print(f"150 MB publish body: {elapsed:.2f} s, tracemalloc peak {peak / MiB:.1f} MiB")
