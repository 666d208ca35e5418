"""Hashing and writing on a helper thread while the request thread receives the next chunk.

Receiving (``recv_into``), hashing (``hashlib``) and writing (``os.write``)
all release the GIL, so overlapping them uses a second core: a single-part
upload then runs at the speed of its slowest stage instead of the sum of
all three.  At most ``depth`` chunks wait in between, which bounds memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable

from artifortress.blobs.digests import Hasher
from artifortress.blobs.files import write_all
from artifortress.blobs.store import BlobInfo

#: Chunks (of up to 1 MiB) in flight between the two threads.
DEPTH = 4


def hash_and_write(fd: int, chunks: Iterable[bytes], depth: int = DEPTH) -> BlobInfo:
    """Write *chunks* to *fd*, hashing them; errors of either thread are raised here."""
    handoff: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
    hasher = Hasher()
    failures: list[BaseException] = []

    def consume() -> None:
        try:
            while (chunk := handoff.get()) is not None:
                hasher.update(chunk)
                write_all(fd, chunk)
        except BaseException as exc:  # handed to the request thread below
            failures.append(exc)
            while handoff.get() is not None:  # keep the producer from blocking
                pass

    helper = threading.Thread(target=consume, name="blob-writer", daemon=True)
    helper.start()
    try:
        for chunk in chunks:
            if failures:
                break
            handoff.put(chunk)
    finally:
        handoff.put(None)
        helper.join()
    if failures:
        raise failures[0]
    return hasher.info()
