"""A file sent to the client that asked for it while it is fetched, kept only once verified.

The fetch runs in a thread of its own, at the upstream's speed: each chunk
goes to a scratch file and the hashes, then the file is verified, stored and
published, and the requests waiting for it get the outcome.  The fetching
request answers with a :class:`Relay` as its response body, which follows
the growing scratch file: a client reading slowly delays nobody but itself
(the others get the file once it is stored, not at that client's pace).

The last byte is held back until the whole file is verified; a client never
receives a complete body that was not: on a mismatch or a broken upstream
the response ends short and the client fails, as it would on a broken
connection.  Where a policy could still refuse the file at publish, the last
byte waits for the publish too.  Where none could (the usual case), it goes
out as soon as the bytes are verified: the client goes on while the file is
stored, and the response's end leaves the store and publish to the fetch's
thread (a bounded number per process; past that, the response waits for
them, and so does the process's exit).  A response ending short is no
server error: one line in the log says which file from which upstream and
why, and the body raises :class:`ResponseCut` (a connection reset, which
servers end the connection on without a traceback).  If the client goes
away, the fetch runs to its end all the same.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from artifortress.blobs.heldfiles import scratch_file
from artifortress.errors import ServiceUnavailable
from artifortress.remote.deferred import EXIT_WAIT
from artifortress.remote.singleflight import Claim

if TYPE_CHECKING:
    from artifortress.versions.views import VersionInfo

log = logging.getLogger("artifortress.remote")

#: Bytes read from the scratch file at a time for the client.
_SEND_CHUNK = 1024 * 1024
#: Fetches per process left to store and publish on their own after their response ended.
DETACHED_LIMIT = 16
#: Those fetches' threads, joined before the process exits (and by tests, to see their outcome).
_DETACHED: set[threading.Thread] = set()
_DETACHED_LOCK = threading.Lock()


class ResponseCut(ConnectionResetError):
    """A streamed response ended short on purpose: the server drops the connection.

    A reset, because that is what WSGI servers take as the end of a connection
    without logging a traceback (gunicorn logs other errors of a started body
    as server errors); the reason was logged once already.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.ECONNRESET, reason)


class _Progress:
    """How far the fetch has written the scratch file, and how it ended."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.written = 0
        #: The bytes are verified and nothing can refuse them: all may go out.
        self.released = False
        self.ended = False
        self.error: BaseException | None = None

    def advance(self, size: int) -> None:
        with self._changed:
            self.written += size
            self._changed.notify_all()

    def release(self) -> None:
        with self._changed:
            self.released = True
            self._changed.notify_all()

    def end(self, error: BaseException | None) -> None:
        with self._changed:
            self.ended, self.error = True, error
            self._changed.notify_all()

    def sendable(self) -> int:
        """Bytes a client may have: all once released or kept, else all but the last."""
        if self.released or (self.ended and self.error is None):
            return self.written
        return max(0, self.written - 1)

    def refused(self) -> BaseException | None:
        """Why the response must end short: the fetch failed before its bytes were released."""
        return None if self.released else self.error

    def finished(self, sent: int) -> bool:
        """Whether a response that sent *sent* bytes has nothing more to send or wait for."""
        return self.ended or (self.released and sent >= self.written)

    def delivered(self, sent: int) -> bool:
        """Whether a response that sent *sent* bytes sent them all, and must not end short."""
        with self._changed:
            return self.refused() is None and self.finished(sent) and sent >= self.sendable()

    def wait_beyond(self, sent: int, timeout: float) -> bool:
        """Wait until more than *sent* bytes may go out, or no more will; ``False``: timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.finished(sent) or self.sendable() > sent, timeout
            )


class Relay:
    """A WSGI response body following a fetch that runs in its own thread."""

    def __init__(
        self,
        receive: Callable[[Path], Iterator[bytes]],
        keep: Callable[[Path], VersionInfo],
        claim: Claim[VersionInfo],
        *,
        size: int | None,
        filename: str,
        host: str,
        max_wait: float,
        release_early: Callable[[], bool] = lambda: False,
    ) -> None:
        self._receive = receive
        self._keep = keep
        #: Asked once the bytes are verified: whether they may all go out before the keep.
        self._release_early = release_early
        self._claim = claim
        #: The body's length, if the upstream announced it.
        self.size = size
        self._filename = filename
        self._host = host
        self._max_wait = max_wait
        self._progress = _Progress()
        self._chunks: Generator[bytes, None, None] | None = None
        #: The client was sent the whole body.
        self._delivered = False
        #: The fetch's thread is done (set under ``_DETACHED_LOCK``).
        self._fetch_done = False
        scratch = contextlib.ExitStack()
        path = scratch.enter_context(scratch_file())
        # Opened before the fetch starts: it reads the bytes after the file's removal too.
        self._source: BinaryIO = path.open("rb")
        self._fetch = threading.Thread(
            target=self._run, args=(path, scratch), name=f"fetch {filename}", daemon=True
        )
        self._fetch.start()

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._tail()
        return self._chunks

    def close(self) -> None:
        """End of the response: the fetch runs to its end, for the requests waiting for it.

        The response waits for it, unless the client has all its bytes and
        the fetch may store them on its own (see :func:`_detach`).
        """
        if self._chunks is not None:
            self._chunks.close()
        if not (self._delivered and self._progress.released and self._detach()):
            self._fetch.join(self._max_wait)
        self._source.close()

    def _detach(self) -> bool:
        """Leave the fetch's thread to finish alone, if fewer than the limit do; whether it is."""
        with _DETACHED_LOCK:
            if self._fetch_done:
                return True
            if len(_DETACHED) >= DETACHED_LIMIT:
                return False
            _DETACHED.add(self._fetch)
            return True

    def _run(self, path: Path, scratch: contextlib.ExitStack) -> None:
        try:
            self._fetch_and_keep(path, scratch)
        finally:
            with _DETACHED_LOCK:
                self._fetch_done = True
                _DETACHED.discard(self._fetch)

    def _fetch_and_keep(self, path: Path, scratch: contextlib.ExitStack) -> None:
        """The fetch, from the upstream's first byte to the outcome the waiting requests get."""
        with scratch:
            try:
                for chunk in self._receive(path):
                    self._progress.advance(len(chunk))
                if self._release_early():  # verified, and nothing could refuse them
                    self._progress.release()
                published = self._keep(path)
            except Exception as exc:
                self._claim.finish(error=exc)  # those waiting get what went wrong
                log.warning(
                    "%s from upstream %s was not kept, its response %s: %s",
                    self._filename,
                    self._host,
                    # Released: the client may have the whole file (verified), not stored.
                    "had all its verified bytes" if self._progress.released else "ended short",
                    exc,
                )
                self._progress.end(exc)
            except BaseException:
                self._claim.finish(error=_interrupted())  # a 503, to retry
                self._progress.end(_interrupted())
                raise
            else:
                self._claim.finish(published)
                self._progress.end(None)

    def _tail(self) -> Generator[bytes, None, None]:
        """The scratch file's bytes as they are written, the last once the file is kept."""
        deadline = time.monotonic() + self._max_wait
        sent = 0
        while True:
            if not self._progress.wait_beyond(sent, deadline - time.monotonic()):
                raise ResponseCut(f"{self._filename} took longer than {self._max_wait:g}s")
            refused = self._progress.refused()
            if refused is not None:
                raise ResponseCut(f"{self._filename} was refused: {refused}")
            sendable = self._progress.sendable()
            while sent < sendable:
                chunk = self._source.read(min(_SEND_CHUNK, sendable - sent))
                if not chunk:  # written, yet not there: the scratch file is gone
                    raise ResponseCut(f"{self._filename}: its scratch file was cut short")
                sent += len(chunk)
                yield chunk
            if self._progress.delivered(sent):
                self._delivered = True
                return


def wait_for_detached(timeout: float | None = None) -> None:
    """Wait until the fetches left to finish alone have stored their files (or failed)."""
    with _DETACHED_LOCK:
        threads = list(_DETACHED)
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


# A process stopping lets its detached fetches commit first (they are daemon threads).
atexit.register(wait_for_detached, EXIT_WAIT)


def _interrupted() -> ServiceUnavailable:
    return ServiceUnavailable("the upstream fetch this request waited for was interrupted; retry")
