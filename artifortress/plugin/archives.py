"""Inspecting uploaded archives at a cost in proportion to the upload.

A gzip stream expands up to a thousandfold: a 1 MB sdist can hold a GiB of
zeros before its PKG-INFO, and reading it blindly holds a worker thread for
minutes. :class:`GunzipReader` decompresses a ``.tar.gz`` for
``tarfile`` within an :class:`UnpackBudget`: a number
of decompressed bytes in proportion to the compressed size (with a floor, so
small archives of compressible text pass) and a deadline. Past either it
raises :class:`ArchiveTooCostly`, a 400 that every format renders in its own
protocol. Real packages stay far below: Django's sdist unpacks to 4 times its
size, botocore's to 8.5, npm tarballs to 3 to 6.

Every format plugin that opens an uploaded archive reads it through here.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
import zlib
from typing import IO

from artifortress.errors import BadRequest

MiB = 1024 * 1024
#: Compressed bytes read at once, and decompressed bytes made at once: large
#: enough that skipping a member's data costs few Python calls per MiB.
_INPUT_CHUNK = 256 * 1024
_OUTPUT_CHUNK = MiB


@dataclasses.dataclass(frozen=True)
class UnpackBudget:
    """What inspecting one archive may cost, in proportion to its compressed size."""

    ratio: int = 32
    floor: int = 64 * MiB
    seconds: float = 10.0
    seconds_per_mib: float = 1.0

    def max_bytes(self, compressed_size: int) -> int:
        """Decompressed bytes allowed: *ratio* times the compressed size, at least *floor*."""
        return max(self.floor, self.ratio * compressed_size)

    def max_seconds(self, compressed_size: int) -> float:
        """Wall-clock time allowed: *seconds*, plus *seconds_per_mib* per MiB uploaded."""
        return self.seconds + self.seconds_per_mib * compressed_size / MiB


class ArchiveTooCostly(BadRequest):
    """Reading the archive further would exceed its budget (bytes, time or one read's size)."""

    code = "archive_too_costly"


class GunzipReader:
    """The decompressed bytes of a gzip file, for ``tarfile.TarFile(fileobj=..., mode="r")``.

    Forward only: ``tarfile`` skips a member's data with a forward seek, which
    decompresses and discards in large chunks (about a hundred times faster
    than ``tarfile``'s own stream mode). A single read larger than *max_read*
    is refused, so a forged header size cannot allocate the whole budget at
    once. Corrupt or truncated input raises ``zlib.error`` or ``EOFError``.
    """

    def __init__(
        self,
        raw: IO[bytes],
        budget: UnpackBudget,
        *,
        what: str,
        max_read: int = 16 * MiB,
    ) -> None:
        """Read *raw* from where it stands; *what* names the archive in refusals."""
        compressed_size = _remaining(raw)
        self._raw = raw
        self._what = what
        self._max_read = max_read
        self._limit = budget.max_bytes(compressed_size)
        self._ratio, self._floor = budget.ratio, budget.floor
        self._seconds = budget.max_seconds(compressed_size)
        self._deadline = time.monotonic() + self._seconds
        self._inflater = zlib.decompressobj(wbits=31)  # gzip header and trailer checked
        self._input = b""  # compressed bytes not yet given to the inflater
        self._buffer = b""  # decompressed bytes; those from _offset on not yet read
        self._offset = 0
        self._position = 0  # of the next byte read, in the decompressed stream
        self._unpacked = 0

    def tar(self) -> tarfile.TarFile:
        """A ``TarFile`` that reads its members through this reader (call it once)."""
        return tarfile.TarFile(fileobj=self, mode="r")  # type: ignore[arg-type]  # reads only

    def read(self, size: int) -> bytes:
        """Up to *size* bytes (fewer only at the end of the stream)."""
        if size < 0 or size > self._max_read:
            raise ArchiveTooCostly(
                f"{self._what} has a header or member too large to read "
                f"(more than {_amount(self._max_read)} at once)"
            )
        parts = []
        while size > 0 and (self._offset < len(self._buffer) or self._fill()):
            piece = self._buffer[self._offset : self._offset + size]
            self._offset += len(piece)
            size -= len(piece)
            parts.append(piece)
        data = b"".join(parts)
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move to *offset*: forward at any distance, backward only within the last chunk."""
        if whence not in (0, 1):
            raise OSError("a gzip stream cannot seek from its end")
        target = offset if whence == 0 else self._position + offset
        if target < self._position:
            back = self._position - target
            if back > self._offset:
                raise OSError("a gzip stream cannot seek that far backwards")
            self._offset -= back
            self._position = target
        while self._position < target and (self._offset < len(self._buffer) or self._fill()):
            step = min(target - self._position, len(self._buffer) - self._offset)
            self._offset += step
            self._position += step
        return self._position

    def tell(self) -> int:
        return self._position

    def drain(self) -> int:
        """Read to the end, so the gzip trailer (CRC and length) is checked; the bytes read."""
        rest = len(self._buffer) - self._offset
        self._offset = len(self._buffer)
        while self._fill():
            rest += len(self._buffer)
            self._offset = len(self._buffer)
        self._position += rest
        return rest

    def _fill(self) -> bool:
        """Decompress the next chunk into the buffer; False at the end of the stream."""
        while True:
            self._check_deadline()
            if not self._input:
                self._input = self._raw.read(_INPUT_CHUNK)
                if not self._input:
                    if self._inflater.eof:
                        return False
                    raise EOFError("compressed file ended before the end-of-stream marker")
            if self._inflater.eof:  # a concatenated gzip member, or zero padding
                self._input = self._input.lstrip(b"\0")
                if not self._input:
                    continue
                self._inflater = zlib.decompressobj(wbits=31)
            chunk = self._inflater.decompress(self._input, _OUTPUT_CHUNK)
            inflater = self._inflater
            self._input = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            if chunk:
                self._spend(len(chunk))
                self._buffer, self._offset = chunk, 0
                return True

    def _spend(self, size: int) -> None:
        self._unpacked += size
        if self._unpacked > self._limit:
            raise ArchiveTooCostly(
                f"{self._what} unpacks to more than {_amount(self._limit)} "
                f"(the limit is {self._ratio} times its size, at least {_amount(self._floor)})"
            )

    def _check_deadline(self) -> None:
        if time.monotonic() > self._deadline:
            raise ArchiveTooCostly(f"{self._what} takes more than {self._seconds:.0f} s to inspect")


def _remaining(raw: IO[bytes]) -> int:
    """Bytes from *raw*'s position to its end (the compressed size the budget scales with)."""
    start = raw.tell()
    end = raw.seek(0, io.SEEK_END)
    raw.seek(start)
    return end - start


def _amount(size: int) -> str:
    return f"{size / MiB:.0f} MiB" if size >= MiB else f"{size} bytes"
