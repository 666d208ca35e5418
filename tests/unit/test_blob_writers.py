"""Writing blob files: past the page cache (O_DIRECT) or through it, hashed on a helper thread.

Every byte must land in order whatever the chunk sizes (a direct write only
takes whole blocks, the tail goes through the cache), a failure of any of
the threads must reach the caller without leaving a thread behind, and bytes
the local store already holds are verified without being written again.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from artifortress.blobs import direct
from artifortress.blobs.digests import fan_out
from artifortress.blobs.direct import (
    ALIGNMENT,
    BUFFER_SIZE,
    DirectWriter,
    FileWriter,
    file_writer,
)
from artifortress.blobs.files import Writeback
from artifortress.blobs.local import LocalBlobStore
from artifortress.blobs.pipeline import hash_and_write
from artifortress.blobs.store import DigestMismatch, Expectation, SizeMismatch

SIZES = [0, 1, ALIGNMENT - 1, ALIGNMENT, ALIGNMENT + 1, BUFFER_SIZE - 1, BUFFER_SIZE + 7]
SIZES += [3 * BUFFER_SIZE + 12_345]


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def pieces(
    data: bytes, sizes: tuple[int, ...] = (1, 4097, 300_000, 2 * BUFFER_SIZE)
) -> list[bytes]:
    """*data* cut into pieces of irregular sizes, in turn."""
    out, offset, turn = [], 0, 0
    while offset < len(data):
        size = sizes[turn % len(sizes)]
        out.append(data[offset : offset + size])
        offset += size
        turn += 1
    return out


def fresh_file(tmp_path: Path) -> int:
    return os.open(tmp_path / "blob.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


@pytest.mark.parametrize("size", SIZES)
def test_the_direct_writer_writes_every_byte_in_order(tmp_path: Path, size: int) -> None:
    data = payload(size)
    fd = fresh_file(tmp_path)
    try:
        writer = file_writer(fd, direct=True)
        assert isinstance(writer, DirectWriter)  # ext4, xfs and tmpfs all take O_DIRECT
        for piece in pieces(data):
            writer.write(piece)
        writer.close()
    finally:
        os.close(fd)
    assert (tmp_path / "blob.tmp").read_bytes() == data


def test_a_file_system_without_o_direct_gets_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(direct, "_set_direct", lambda fd, on: False)
    data = payload(BUFFER_SIZE + 5)
    fd = fresh_file(tmp_path)
    try:
        writer = file_writer(fd, direct=True)
        assert isinstance(writer, Writeback)
        for piece in pieces(data):
            writer.write(piece)
        writer.close()
    finally:
        os.close(fd)
    assert (tmp_path / "blob.tmp").read_bytes() == data


def test_a_file_system_refusing_direct_writes_gets_the_rest_through_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def picky_write(fd: int, data: bytes | memoryview) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", picky_write)
    data = payload(2 * BUFFER_SIZE + 5)
    fd = fresh_file(tmp_path)
    try:
        writer = file_writer(fd, direct=True)
        assert isinstance(writer, DirectWriter)  # the flag itself was accepted
        write_then_close(writer, data)
    finally:
        os.close(fd)
    assert (tmp_path / "blob.tmp").read_bytes() == data


def write_then_close(writer: FileWriter, data: bytes) -> None:
    for piece in pieces(data):
        writer.write(piece)
    writer.close()


def test_a_failing_disk_write_reaches_the_caller_and_no_thread_is_left(tmp_path: Path) -> None:
    (tmp_path / "blob.tmp").write_bytes(b"")
    fd = os.open(tmp_path / "blob.tmp", os.O_RDONLY)  # every write fails (EBADF)
    threads = threading.active_count()
    try:
        writer = file_writer(fd, direct=True)
        assert isinstance(writer, DirectWriter)
        with pytest.raises(OSError):
            write_then_close(writer, payload(5 * BUFFER_SIZE))
        writer.close(complete=False)  # what a caller does on its way out: never blocks
    finally:
        os.close(fd)
    assert threading.active_count() == threads


@pytest.mark.parametrize("size", [0, 10_000, 2 * BUFFER_SIZE + 999])
@pytest.mark.parametrize("direct_io", [True, False])
def test_hash_and_write_returns_the_digest_and_size_of_what_it_wrote(
    tmp_path: Path, direct_io: bool, size: int
) -> None:
    data = payload(size)
    fd = fresh_file(tmp_path)
    try:
        info = hash_and_write(fd, pieces(data), direct=direct_io)
    finally:
        os.close(fd)
    assert info.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert (tmp_path / "blob.tmp").read_bytes() == data


def test_a_body_of_one_chunk_starts_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_thread(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("a thread was started for a one-chunk body")

    monkeypatch.setattr(threading, "Thread", no_thread)
    data = payload(BUFFER_SIZE)
    fd = fresh_file(tmp_path)
    try:
        info = hash_and_write(fd, [data], direct=True)
    finally:
        os.close(fd)
    assert info.size == len(data)
    assert (tmp_path / "blob.tmp").read_bytes() == data


class ClientWentAway(Exception):
    pass


def broken_body(data: bytes) -> Iterator[bytes]:
    yield from pieces(data)
    raise ClientWentAway


@pytest.mark.parametrize("direct_io", [True, False])
def test_a_body_that_breaks_stops_every_thread(tmp_path: Path, direct_io: bool) -> None:
    threads = threading.active_count()
    fd = fresh_file(tmp_path)
    try:
        with pytest.raises(ClientWentAway):
            hash_and_write(fd, broken_body(payload(3 * BUFFER_SIZE)), direct=direct_io)
    finally:
        os.close(fd)
    assert threading.active_count() == threads


def test_bytes_of_a_stored_blob_are_verified_but_not_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "store")
    data = payload(BUFFER_SIZE + 3)
    expected = Expectation(digest="sha256:" + hashlib.sha256(data).hexdigest(), size=len(data))
    first = store.write(pieces(data), expected)
    stored = tmp_path / "store" / fan_out(first.digest)

    def no_second_copy(*args: object) -> NoReturn:
        raise AssertionError("a second copy of a stored blob is being written")

    monkeypatch.setattr(store, "_temp", no_second_copy)
    assert store.write(pieces(data), expected) == first
    other = payload(len(data) + 1)[1:]  # same size, other bytes
    with pytest.raises(DigestMismatch):
        store.write(pieces(other), expected)
    with pytest.raises(SizeMismatch):
        store.write(pieces(data[:-1]), expected)
    assert stored.read_bytes() == data
