"""Temporary files held under ``flock`` by their writer: a dead writer's are known at once.

A worker killed during an upload (``kill -9``, the OOM killer) leaves its
partial file behind, and an age alone cannot tell it from a slow live
upload, so it used to wait out a day's grace. Each temporary file is
instead created already locked (``flock``, exclusive) by the process
writing it, which keeps the lock until the file has its final name; the
kernel drops the lock when the process dies, whatever the signal. A file
whose lock anyone can take is a leftover and goes now; a locked one is a
live upload's and stays, however old. ``flock`` locks belong to the open
file, not to the process, so a look from another thread or process sees
them. (On NFS, Linux emulates them with byte-range locks, which belong to
the process: reclaiming there runs where this process writes nothing yet,
at worker start and in ``artifortress blobs reap``.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: The suffix of held files; others (written by older versions) only age out.
SUFFIX = ".held"
#: Plugins' scratch files (an upload kept until it is checked), in the system's temporary folder.
SCRATCH_PREFIX = "artifortress-scratch-"


def create_held(directory: Path, prefix: str) -> tuple[int, str]:
    """A new file in *directory* (descriptor and path), locked by this process until closed.

    A sweep may take a file between its creation and our lock; it is gone
    then, so another is made.
    """
    while True:
        fd, path = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=SUFFIX)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a sweep looks at it
        if _still_named(fd, path):
            return fd, path
        os.close(fd)


@contextlib.contextmanager
def scratch_file() -> Iterator[Path]:
    """A private temporary file for a request; removed after it, or after this process dies.

    Held like the store's own (a worker killed meanwhile leaves it to the
    next worker that starts, see :func:`reclaim_scratch`).
    """
    fd, path = create_held(Path(tempfile.gettempdir()), SCRATCH_PREFIX)
    try:
        yield Path(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # before the lock goes: no sweep sees it unheld
        os.close(fd)


def reclaim_scratch() -> int:
    """Remove the scratch files whose process died; how many."""
    return reclaim_dead(Path(tempfile.gettempdir()), SCRATCH_PREFIX)


def reclaim_dead(directory: Path, prefix: str = "") -> int:
    """Remove the held files in *directory* (named *prefix*...) that no living process holds."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            name = entry.name
            if name.startswith(prefix) and name.endswith(SUFFIX):
                removed += _remove_if_abandoned(entry.path)
    return removed


def _remove_if_abandoned(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, IsADirectoryError):
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        # Renamed into place meanwhile (and the name reused): not ours to remove.
        if not _still_named(fd, path):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def _still_named(fd: int, path: str) -> bool:
    """Whether *path* still names the file open as *fd*."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
