"""Writing a new blob file past the page cache (``O_DIRECT``), on a writer thread.

Written through the page cache, a large upload first has the kernel allocate
as many new pages as the file has bytes, then write them out at the fsync.
On virtual machines that hand freed memory back to the host (free page
reporting, as Firecracker does) every such page is faulted in again, which
costs about as much CPU as hashing the bytes, and the cache fills with bytes
nobody asked to read.  With ``O_DIRECT`` the bytes go from a few reused,
aligned buffers to the disk, as object stores do for large objects (MinIO).
A file system that refuses ``O_DIRECT`` gets the page cache with early
write-out (:class:`Writeback`) instead; either way the caller's ``fsync``
is what makes the file durable.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import queue
import threading
from typing import Protocol

from artifortress.blobs.files import Writeback, write_all
from artifortress.blobs.store import CHUNK_SIZE

#: ``O_DIRECT`` wants offsets, lengths and addresses aligned to the logical block
#: size (512 or 4096 bytes); mmap buffers are page-aligned.
ALIGNMENT = 4096
#: Bytes per direct write, and buffers in turn: one filling while the other is written.
BUFFER_SIZE = CHUNK_SIZE
BUFFERS = 2


class FileWriter(Protocol):
    """Appends bytes to a file; :meth:`close` writes what is left (or drops it)."""

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def close(self, *, complete: bool = True) -> None: ...


def file_writer(fd: int, *, direct: bool) -> FileWriter:
    """A writer for *fd*: past the page cache if *direct* and the file system allows it."""
    if direct and _set_direct(fd, True):
        return DirectWriter(fd)
    return Writeback(fd)


class DirectWriter:
    """Copies appended bytes into aligned buffers that a thread writes with ``O_DIRECT``.

    *fd* must already be in ``O_DIRECT`` mode and at offset 0.  The last
    partial block is written through the page cache at :meth:`close`.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._direct = True
        self._free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[mmap.mmap, int] | None] = queue.SimpleQueue()
        self._failures: list[BaseException] = []
        for _ in range(BUFFERS):
            self._free.put(mmap.mmap(-1, BUFFER_SIZE))
        self._buffer = self._free.get()
        self._fill = 0
        self._thread = threading.Thread(target=self._drain, name="blob-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            take = min(len(view), BUFFER_SIZE - self._fill)
            self._buffer[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == BUFFER_SIZE:
                self._hand_over(BUFFER_SIZE)

    def close(self, *, complete: bool = True) -> None:
        """Wait for the writer thread; with *complete*, write everything first.

        With *complete*, raises the writer's error if it had one; without, the
        file is being abandoned and the caller is already handling an error.
        """
        aligned = self._fill - self._fill % ALIGNMENT
        tail = bytes(self._buffer[aligned : self._fill]) if complete else b""
        if complete and aligned:
            self._full.put((self._buffer, aligned))
        self._full.put(None)
        self._thread.join()
        if not complete:
            return
        if self._failures:
            raise self._failures[0]
        if tail:  # a direct write cannot end mid-block
            _set_direct(self._fd, False)
            write_all(self._fd, tail)

    def _hand_over(self, count: int) -> None:
        if self._failures:
            raise self._failures[0]
        self._full.put((self._buffer, count))
        self._buffer = self._free.get()
        self._fill = 0

    def _drain(self) -> None:
        try:
            while (item := self._full.get()) is not None:
                buffer, count = item
                with memoryview(buffer) as view:
                    self._write(view[:count])
                self._free.put(buffer)
        except BaseException as exc:  # raised in the caller's thread
            self._failures.append(exc)
            while (item := self._full.get()) is not None:
                self._free.put(item[0])  # the caller may be waiting for a buffer

    def _write(self, data: memoryview) -> None:
        """``os.write`` of all of *data*; through the cache if the disk refuses it direct."""
        while data:
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                # Some file systems take the O_DIRECT flag and then refuse the writes
                # (an alignment larger than ours): the rest goes through the cache.
                if exc.errno != errno.EINVAL or not self._direct:
                    raise
                self._direct = False
                _set_direct(self._fd, False)
                continue
            data = data[written:]


def _set_direct(fd: int, on: bool) -> bool:
    """Switch ``O_DIRECT`` on or off for *fd*; False if the file system refuses."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | flag) if on else (flags & ~flag))
    except OSError:
        return False
    return True
