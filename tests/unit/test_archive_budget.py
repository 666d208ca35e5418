"""``artifortress.plugin.archives``: decompressing uploaded archives within a budget."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from artifortress.plugin.archives import ArchiveTooCostly, GunzipReader, MiB, UnpackBudget
from artifortress.testing.bombs import tar_gz_bomb

DATA = os.urandom(3 * MiB + 123)


def reader(compressed: bytes, budget: UnpackBudget | None = None, **kw: int) -> GunzipReader:
    return GunzipReader(io.BytesIO(compressed), budget or UnpackBudget(), what="x", **kw)


def test_reads_what_gzip_reads_including_concatenated_members_and_zero_padding() -> None:
    compressed = gzip.compress(DATA[:MiB]) + gzip.compress(DATA[MiB:]) + bytes(4096)
    unpacked = reader(compressed)
    assert unpacked.read(100) + unpacked.read(16 * MiB) == DATA
    assert unpacked.tell() == len(DATA)
    assert unpacked.read(10) == b""


def test_seeks_forward_far_and_backward_within_the_last_chunk() -> None:
    unpacked = reader(gzip.compress(DATA))
    assert unpacked.seek(2 * MiB + 5) == 2 * MiB + 5
    assert unpacked.read(10) == DATA[2 * MiB + 5 : 2 * MiB + 15]
    assert unpacked.seek(2 * MiB) == 2 * MiB
    assert unpacked.read(5) == DATA[2 * MiB : 2 * MiB + 5]
    with pytest.raises(OSError, match="backwards"):
        unpacked.seek(0)
    assert unpacked.seek(len(DATA) + 100) == len(DATA), "stops at the end"


def test_drain_checks_the_trailer() -> None:
    compressed = bytearray(gzip.compress(DATA))
    compressed[-8] ^= 1  # the CRC
    unpacked = reader(bytes(compressed))
    unpacked.read(10)
    with pytest.raises(zlib.error, match="incorrect data check"):
        unpacked.drain()


def test_truncated_input_is_an_eof_error() -> None:
    with pytest.raises(EOFError):
        reader(gzip.compress(DATA)[:-100]).drain()


def test_the_byte_budget_scales_with_the_compressed_size() -> None:
    budget = UnpackBudget(ratio=4, floor=MiB)
    compressible = gzip.compress(bytes(8 * MiB))  # 8 KB: the floor applies
    with pytest.raises(ArchiveTooCostly, match=r"x unpacks to more than 1 MiB \(the limit is 4"):
        reader(compressible, budget).drain()
    incompressible = gzip.compress(DATA)  # 3 MiB: 4 times that, far above what it unpacks to
    assert reader(incompressible, budget).drain() == len(DATA)


def test_a_single_read_is_bounded() -> None:
    with pytest.raises(ArchiveTooCostly, match=r"too large to read \(more than 1024 bytes"):
        reader(gzip.compress(DATA), max_read=1024).read(1025)


def test_tarfile_reads_a_bomb_until_the_budget_runs_out() -> None:
    bomb = tar_gz_bomb(256 * MiB, {"top/late": b"found"}, zeros_name="top/zeros")
    with pytest.raises(ArchiveTooCostly), reader(bomb).tar() as archive:
        archive.getmembers()
    generous = UnpackBudget(floor=512 * MiB)
    with reader(bomb, generous).tar() as archive:
        member = archive.getmember("top/late")
        assert archive.extractfile(member).read() == b"found"  # type: ignore[union-attr]
