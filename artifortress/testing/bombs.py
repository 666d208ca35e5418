"""Gzip bombs for tests: small, valid ``.tar.gz`` files that unpack to a GiB or more.

Built without compressing the zeros: deflate blocks of zeros ended by a full
flush are identical byte for byte, so one block is made and repeated (a GiB
of zeros costs about 1 MB and half a second, for the checksum).
"""

from __future__ import annotations

import struct
import tarfile
import zlib
from collections.abc import Mapping

MiB = 1024 * 1024
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no name, no mtime


def tar_gz_bomb(
    zeros: int,
    members: Mapping[str, bytes],
    *,
    zeros_name: str,
    before: Mapping[str, bytes] | None = None,
) -> bytes:
    """A valid .tar.gz: *before*, then *zeros_name* of *zeros* zero bytes, then *members*."""
    head = _members(before or {}) + _member(zeros_name, zeros)
    rest = _members(members)
    rest += bytes(2 * tarfile.BLOCKSIZE)  # end-of-archive marker
    whole_blocks, remainder = divmod(zeros, MiB)
    rest = bytes(remainder + -zeros % tarfile.BLOCKSIZE) + rest  # the zeros' tail and padding
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [_GZIP_HEADER, deflate.compress(head), deflate.flush(zlib.Z_FULL_FLUSH)]
    block = deflate.compress(bytes(MiB)) + deflate.flush(zlib.Z_FULL_FLUSH)
    parts += [block] * whole_blocks
    parts += [deflate.compress(rest), deflate.flush()]
    crc = _crc_of(head, whole_blocks, rest)
    size = len(head) + whole_blocks * MiB + len(rest)
    parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(parts)


def _members(members: Mapping[str, bytes]) -> bytes:
    return b"".join(_member(name, len(data)) + _padded(data) for name, data in members.items())


def _member(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % tarfile.BLOCKSIZE)


def _crc_of(head: bytes, zero_blocks: int, rest: bytes) -> int:
    crc = zlib.crc32(head)
    block = bytes(MiB)
    for _ in range(zero_blocks):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(rest, crc)
