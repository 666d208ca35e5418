"""Small durable-file helpers for the local store: full writes, fsync, directory sync, ranges."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from artifortress.blobs.store import CHUNK_SIZE


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (short writes happen on signals)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: How much a file grows between two requests to start writing it out.
WRITEBACK_WINDOW = 8 * CHUNK_SIZE
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start write-out, do not wait for it


class Writeback:
    """Starts the kernel's write-out of a file as it grows (Linux ``sync_file_range``).

    Without it, the bytes of a large upload stay dirty in the page cache
    until the final ``fsync``, which then waits for all of them at once after
    the last byte arrived; started early, the disk works while the body is
    still arriving.  Only a hint: the ``fsync`` remains what makes the file
    durable, and where the call is missing nothing happens.
    """

    def __init__(self, fd: int, window: int = WRITEBACK_WINDOW) -> None:
        self._fd = fd
        self._window = window
        self._written = 0
        self._started = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append *data* to the file (all of it); start writing out a full window."""
        write_all(self._fd, data)
        self._written += len(data)
        if self._written - self._started < self._window:
            return
        start_writeout = _sync_file_range()
        if start_writeout is not None:
            start_writeout(
                self._fd, self._started, self._written - self._started, _SYNC_FILE_RANGE_WRITE
            )
        self._started = self._written

    def close(self, *, complete: bool = True) -> None:
        """Nothing is held back: every byte went to the kernel in :meth:`write`."""


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's ``sync_file_range`` (Linux), which ``os`` does not offer; ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only where uploads happen: not every process needs it

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in *path* durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` that fsyncs the parent of every directory it creates."""
    if path.is_dir():
        return
    make_dirs(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    fsync_dir(path.parent)


def unlink_quietly(path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class FileRange:
    """A window of an open file, readable and iterable, that keeps the real file descriptor.

    ``fileno()`` lets gunicorn's ``wsgi.file_wrapper`` send it with
    ``sendfile(2)`` from the current offset for ``Content-Length`` bytes;
    ``read`` never goes past the window for servers that copy instead.
    """

    def __init__(self, file: BinaryIO, length: int) -> None:
        self._file = file
        self._remaining = length

    def fileno(self) -> int:
        return self._file.fileno()

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._file.read(want)
        self._remaining -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        self._file.close()
