"""A file sent to the client that asked for it while it is fetched, kept only once verified.

The fetching request answers with a :class:`Relay` as its response body: each
chunk from upstream goes to the scratch file and the hashes, and on to the
client.  The last byte is held back until the whole file is verified,
stored and published, so a client never receives a complete body that was
not kept: on a mismatch, a broken upstream or a refusal at publish the
response ends short and the client fails, as it would on a broken
connection.  That is no server error: one line in the log says which file
from which upstream and why, and the body raises :class:`ResponseCut` (a
connection reset, which servers end the connection on without a traceback).
If the client goes away, the fetch still runs to its end when the server
closes the body, so the requests waiting for it get the file.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from artifortress.blobs.heldfiles import scratch_file
from artifortress.errors import ServiceUnavailable
from artifortress.remote.singleflight import Claim

if TYPE_CHECKING:
    from artifortress.versions.views import VersionInfo

log = logging.getLogger("artifortress.remote")


class ResponseCut(ConnectionResetError):
    """A streamed response ended short on purpose: the server drops the connection.

    A reset, because that is what WSGI servers take as the end of a connection
    without logging a traceback (gunicorn logs other errors of a started body
    as server errors); the reason was logged once already.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.ECONNRESET, reason)


class Relay:
    """A WSGI response body: the upstream's chunks, then the fetch's outcome for the others."""

    def __init__(
        self,
        receive: Callable[[Path], Iterator[bytes]],
        keep: Callable[[Path], VersionInfo],
        claim: Claim[VersionInfo],
        *,
        size: int | None,
        filename: str,
        host: str,
    ) -> None:
        self._receive = receive
        self._keep = keep
        self._claim = claim
        #: The body's length, if the upstream announced it.
        self.size = size
        self._filename = filename
        self._host = host
        self._chunks: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._relay()
        return self._chunks

    def close(self) -> None:
        """End of the response: a fetch its client left unfinished still runs to its end."""
        try:
            for _chunk in self:
                pass
        except ResponseCut:  # logged, and handed to the waiting requests, as it happened
            pass

    def _relay(self) -> Iterator[bytes]:
        held = b""  # the body's last byte so far: it goes out once the file is kept
        try:
            with scratch_file() as path:
                for chunk in self._receive(path):
                    if chunk:
                        yield held + chunk[:-1]
                        held = chunk[-1:]
                published = self._keep(path)
        except Exception as exc:
            self._claim.finish(error=exc)  # those waiting get what went wrong
            log.warning(
                "%s from upstream %s: its response ended short: %s",
                self._filename,
                self._host,
                exc,
            )
            raise ResponseCut(f"{self._filename} was refused: {exc}") from None
        except BaseException:
            self._claim.finish(error=_interrupted())  # a 503, to retry
            raise
        self._claim.finish(published)
        yield held


def _interrupted() -> ServiceUnavailable:
    return ServiceUnavailable("the upstream fetch this request waited for was interrupted; retry")
