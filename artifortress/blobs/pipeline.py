"""Writing on the receiving thread while a helper thread hashes what was written.

Receiving (``recv``), writing (``os.write``) and hashing (``hashlib``) all
release the GIL, so threads use several cores.  Hashing is the most expensive
stage (about as costly as receiving and writing together), so it gets a
thread of its own and the request thread receives and writes (past the page
cache, it copies into buffers that a third thread sends to disk): an upload
then runs at about the speed of SHA-256 alone.  At most ``depth`` chunks wait
in between, which bounds memory.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterable, Iterator

from artifortress.blobs.digests import Hasher
from artifortress.blobs.direct import FileWriter, file_writer
from artifortress.blobs.files import Writeback
from artifortress.blobs.store import CHUNK_SIZE, BlobInfo

#: Chunks (of up to 1 MiB) waiting for the hasher: more only hold memory (measured: the
#: same speed with 2 as with 4, and 7 MiB less peak RSS per worker after uploads).
DEPTH = 2

Chunk = bytes | memoryview


def hash_and_write(
    fd: int, chunks: Iterable[bytes], depth: int = DEPTH, *, direct: bool = False
) -> BlobInfo:
    """Write *chunks* to *fd* (at offset 0), hashing them; errors of any thread are raised here.

    With *direct*, the bytes bypass the page cache where the file system
    allows it (see :mod:`artifortress.blobs.direct`); otherwise the kernel
    starts writing them out while the file grows.  Either way the caller's
    final ``fsync`` has little left to do.  A body of one chunk (most
    packages) is hashed and written on the calling thread, through the cache.
    """
    pieces = _pieces(chunks)
    head = list(itertools.islice(pieces, 2))
    if len(head) < 2:
        return _hash_here(head, Writeback(fd))
    return _hash_through(itertools.chain(head, pieces), file_writer(fd, direct=direct), depth)


def hash_only(chunks: Iterable[bytes], depth: int = DEPTH) -> BlobInfo:
    """Digest and size of *chunks*, hashed on a helper thread while the next ones arrive."""
    pieces = _pieces(chunks)
    head = list(itertools.islice(pieces, 2))
    if len(head) < 2:
        return _hash_here(head, None)
    return _hash_through(itertools.chain(head, pieces), None, depth)


def _hash_here(pieces: list[Chunk], out: FileWriter | None) -> BlobInfo:
    """Nothing to overlap: starting threads (and O_DIRECT buffers) would cost more than it saves."""
    hasher = Hasher()
    for piece in pieces:
        hasher.update(piece)
        if out is not None:
            out.write(piece)
    return hasher.info()


def _hash_through(pieces: Iterable[Chunk], out: FileWriter | None, depth: int) -> BlobInfo:
    handoff: queue.Queue[Chunk | None] = queue.Queue(maxsize=depth)
    hasher = Hasher()
    failures: list[BaseException] = []
    helper = threading.Thread(
        target=_hash_all, args=(handoff, hasher, failures), name="blob-hasher", daemon=True
    )
    helper.start()
    complete = False
    try:
        for piece in pieces:
            if failures:
                break
            handoff.put(piece)  # hashing starts while this thread writes
            if out is not None:
                out.write(piece)
        complete = True
    finally:
        handoff.put(None)
        if out is not None:
            out.close(complete=complete and not failures)
        helper.join()
    if failures:
        raise failures[0]
    return hasher.info()


def _hash_all(
    handoff: queue.Queue[Chunk | None], hasher: Hasher, failures: list[BaseException]
) -> None:
    try:
        while (piece := handoff.get()) is not None:
            hasher.update(piece)
    except BaseException as exc:  # handed to the request thread
        failures.append(exc)
        while handoff.get() is not None:  # keep the producer from blocking
            pass


def _pieces(chunks: Iterable[bytes]) -> Iterator[Chunk]:
    """*chunks* cut to at most ``CHUNK_SIZE`` (zero-copy), so a large one still overlaps."""
    for chunk in chunks:
        if len(chunk) <= CHUNK_SIZE:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(view), CHUNK_SIZE):
            yield view[start : start + CHUNK_SIZE]
