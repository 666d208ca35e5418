"""ClientInput: every failure reading a request body is the client's 400, never a 500."""

from __future__ import annotations

import io

import pytest
from gunicorn.http.errors import InvalidChunkSize, NoMoreData

from artifortress.blobs.store import IncompleteBody, MalformedBody
from artifortress.blobs.wsgibody import ClientInput


class Failing(io.BytesIO):
    """A body that delivers its bytes, then fails the way a server's reader does."""

    def __init__(self, data: bytes, error: Exception) -> None:
        super().__init__(data)
        self._error = error

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise self._error
        return data


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InvalidChunkSize(b"zz"), MalformedBody),
        (NoMoreData(), IncompleteBody),
        (ConnectionResetError(), IncompleteBody),
        (TimeoutError(), IncompleteBody),
    ],
)
def test_a_failing_read_is_a_400(error: Exception, expected: type[Exception]) -> None:
    body = ClientInput(Failing(b"abc", error), None)
    assert body.read(3) == b"abc"
    with pytest.raises(expected) as caught:
        body.read(3)
    assert getattr(caught.value, "status", None) == 400


def test_a_body_ending_before_its_length_is_incomplete() -> None:
    body = ClientInput(io.BytesIO(b"line 1\nline"), 20)
    assert body.readline() == b"line 1\n"
    assert body.read(100) == b"line"
    with pytest.raises(IncompleteBody, match="after 11 of 20 bytes"):
        body.read(100)


def test_a_whole_body_reads_as_a_file_does() -> None:
    data = b"a\nbb\nccc\n"
    assert ClientInput(io.BytesIO(data), len(data)).readlines(3) == [b"a\n", b"bb\n"]
    assert list(ClientInput(io.BytesIO(data), len(data))) == [b"a\n", b"bb\n", b"ccc\n"]
    body = ClientInput(io.BytesIO(data), len(data))
    assert body.read() == data
    assert body.read(0) == b""
    assert body.read() == b""
